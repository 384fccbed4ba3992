"""AWS CLI smoke test: Debian's /usr/bin/aws (awscli) against the real amalgamd, unchanged."""
import json
import os
import shutil
import subprocess

import pytest

AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")


def aws(server, tmp_path, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "",
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    p = subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{server.ports['dynamo']}", "--output", "json",
                        "dynamodb", *args], capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


@pytest.mark.skipif(AWS is None, reason="awscli is not installed (scripts/setup.sh installs it)")
def test_aws_cli_smoke(amalgamd, tmp_path):
    rc, out, err = aws(amalgamd, tmp_path, "create-table", "--table-name", "Cli",
                       "--attribute-definitions", "AttributeName=id,AttributeType=S",
                       "--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    assert rc == 0, err
    assert out["TableDescription"]["TableStatus"] == "ACTIVE"
    rc, out, err = aws(amalgamd, tmp_path, "wait", "table-exists", "--table-name", "Cli")
    assert rc == 0, err
    rc, out, err = aws(amalgamd, tmp_path, "put-item", "--table-name", "Cli",
                       "--item", '{"id": {"S": "1"}, "n": {"N": "5"}}')
    assert rc == 0, err
    rc, out, err = aws(amalgamd, tmp_path, "update-item", "--table-name", "Cli", "--key", '{"id": {"S": "1"}}',
                       "--update-expression", "ADD n :d", "--expression-attribute-values", '{":d": {"N": "2"}}',
                       "--return-values", "ALL_NEW")
    assert rc == 0, err
    assert out["Attributes"] == {"id": {"S": "1"}, "n": {"N": "7"}}
    rc, out, err = aws(amalgamd, tmp_path, "get-item", "--table-name", "Cli", "--key", '{"id": {"S": "1"}}')
    assert rc == 0 and out["Item"]["n"] == {"N": "7"}, err
    rc, out, err = aws(amalgamd, tmp_path, "scan", "--table-name", "Cli")
    assert rc == 0 and out["Count"] == 1, err
    rc, out, err = aws(amalgamd, tmp_path, "list-tables")
    assert rc == 0 and out["TableNames"] == ["Cli"], err
    rc, out, err = aws(amalgamd, tmp_path, "describe-table", "--table-name", "Nope")
    assert rc != 0 and "ResourceNotFoundException" in err
    rc, out, err = aws(amalgamd, tmp_path, "delete-table", "--table-name", "Cli")
    assert rc == 0, err
