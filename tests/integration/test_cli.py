"""The command-line contract: --help, --version, bad options and config files."""
import pytest

from conftest import run_amalgamd

OPTIONS = ["--data-dir", "--bind", "--mongo-port", "--dynamo-port", "--http-port", "--config",
           "--log-level", "--durability", "--help", "--version"]


def test_help_exits_0_and_mentions_every_option_and_default():
    result = run_amalgamd("--help")
    assert result.returncode == 0, result.stderr
    for option in OPTIONS:
        assert option in result.stdout, option
    for default in ["127.0.0.1", "27017", "8000", "9090", "info", "process"]:
        assert f"default: {default}" in result.stdout, default


def test_help_wins_over_other_arguments():
    assert run_amalgamd("--bogus", "--help").returncode == 0


def test_version_exits_0():
    result = run_amalgamd("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("amalgamd ")


@pytest.mark.parametrize("args, message", [
    (["--data-dir", "d", "--bogus"], "unknown option --bogus"),
    ([], "--data-dir: is required"),
    (["--data-dir"], "--data-dir: missing value"),
    (["--data-dir=d", "--mongo-port", "abc"], "--mongo-port: 'abc' is not a port number"),
    (["--data-dir=d", "--http-port=70000"], "--http-port: '70000' is not a port number"),
    (["--data-dir=d", "--log-level=loud"], "--log-level: 'loud' is not a log level"),
    (["--data-dir=d", "--durability=never"], "--durability: 'never' is not a durability mode"),
    (["--data-dir=d", "--bind=example.com"], "--bind: 'example.com' is not an IPv4 or IPv6"),
    (["--data-dir=d", "stray"], "unexpected argument 'stray'"),
    (["--data-dir=d", "--config=/nonexistent/amalgam.toml"], "--config: cannot open"),
])
def test_bad_command_line_exits_2_naming_the_option(args, message, tmp_path):
    result = run_amalgamd(*args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "--help" in result.stderr
    assert result.stdout == ""


def test_bad_config_file_exits_2_naming_file_line_and_key(tmp_path):
    config = tmp_path / "amalgam.toml"
    config.write_text('[server]\ndata_dir = "x"\nhttp_port = "9090"\n')
    result = run_amalgamd("--config", str(config))
    assert result.returncode == 2
    assert f"{config}:3: http_port: expected an integer, got a string" in result.stderr


def test_config_file_settings_apply_and_command_line_wins(start_amalgamd, tmp_path):
    config = tmp_path / "amalgam.toml"
    # http_port 1 would need root; the command line's 0 (from the fixture) must win over it.
    config.write_text("# test config\n[server]\nhttp_port = 1\nlog_level = \"warning\"\n")
    server = start_amalgamd("--config", str(config))
    assert server.http_port > 1
    # log_level = warning came from the file: info lines are not printed.
    assert "I server: ready" not in server.log()
