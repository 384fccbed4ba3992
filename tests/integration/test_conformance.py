"""Runs the command conformance cases in tests/conformance/commands/*.json (format in the README
there): every step is one test, run in file order with pymongo's Database.command over OP_MSG.

By default each data file gets its own fresh amalgamd (started like the `amalgamd` fixture of
conftest.py, one at a time). With CONFORMANCE_URI set (a MongoDB connection string), the same
steps run against that server instead, and steps marked `knownDifference` are expected to pass
there rather than xfail:

    CONFORMANCE_URI=mongodb://localhost:27017 /usr/bin/python3 -m pytest -q \
        tests/integration/test_conformance.py

test_clean_exit[<file>] then checks that the amalgamd which ran a file exits 0 on SIGTERM.
Steps depend on the steps before them in their file. Running a step out of order (with -k, or
after a failure) replays the file from an empty database up to it without checking replies.
"""
import contextlib
import datetime
import os
import pathlib
import re
import uuid

import pymongo
import pymongo.message
import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from bson.binary import Binary
from bson.code import Code
from bson.json_util import JSONOptions
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp
from pymongo.errors import OperationFailure

from conftest import BINARY, Server

CASES_DIR = pathlib.Path(__file__).resolve().parents[1] / "conformance" / "commands"
URI = os.environ.get("CONFORMANCE_URI")
# Field order matters in commands (the command name comes first): keep it.
JSON_OPTIONS = JSONOptions(document_class=SON, tz_aware=False)
STEP_KEYS = {"description", "database", "command", "expect", "error", "save", "knownDifference"}


def load_file(path):
    spec = json_util.loads(path.read_text(), json_options=JSON_OPTIONS)
    assert set(spec) <= {"description", "database", "steps"}, f"{path.name}: unknown top-level key"
    for i, step in enumerate(spec["steps"]):
        unknown = set(step) - STEP_KEYS
        assert not unknown, f"{path.name} step {i}: unknown keys {sorted(unknown)}"
        assert not ("expect" in step and "error" in step), f"{path.name} step {i}: expect and error"
    return spec


FILES = {p.stem: load_file(p) for p in sorted(CASES_DIR.glob("*.json"))}


def step_params():
    params = []
    for name, spec in FILES.items():
        for i, step in enumerate(spec["steps"]):
            verb = next(iter(step["command"]))
            marks = []
            if "knownDifference" in step and not URI:
                marks.append(pytest.mark.xfail(strict=True, reason=step["knownDifference"]))
            params.append(pytest.param(name, i, id=f"{name}-{i:03d}-{verb}", marks=marks))
    return params


# ---------------------------------------------------------------------------------------------
# Matching replies against expectations.

def bson_type(v):
    """The $type alias of a decoded BSON value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Int64):
        return "long"
    if isinstance(v, int):
        return "int" if -2**31 <= v < 2**31 else "long"
    table = [(float, "double"), (str, "string"), (ObjectId, "objectId"), (Decimal128, "decimal"),
             (Timestamp, "timestamp"), (MinKey, "minKey"), (MaxKey, "maxKey"), (Code, "javascript"),
             ((Regex, re.Pattern), "regex"), ((Binary, bytes, uuid.UUID), "binData"), (dict, "object"),
             (list, "array"), (type(None), "null")]
    for types, alias in table:
        if isinstance(v, types):
            return alias
    if isinstance(v, datetime.datetime):
        return "date"
    return type(v).__name__


NUMBER_TYPES = {"int", "long", "double", "decimal"}


class Mismatch(AssertionError):
    pass


def fail(path, msg):
    raise Mismatch(f"at {path or '<reply>'}: {msg}")


def is_operator(expected):
    return isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$$")


def match(expected, actual, path, variables, exact=False):
    """Raises Mismatch unless `actual` satisfies `expected` (see the README for the rules)."""
    if is_operator(expected):
        op, arg = next(iter(expected.items()))
        if op == "$$exact":
            return match(arg, actual, path, variables, exact=True)
        if op == "$$type":
            wanted = arg if isinstance(arg, list) else [arg]
            got = bson_type(actual)
            if got not in wanted and not ("number" in wanted and got in NUMBER_TYPES):
                fail(path, f"type {got}, want {wanted} (value {actual!r})")
            return
        if op == "$$gte":
            if bson_type(actual) not in NUMBER_TYPES or actual < arg:
                fail(path, f"{actual!r} is not a number >= {arg}")
            return
        if op == "$$contains":
            if not isinstance(actual, str) or arg not in actual:
                fail(path, f"{actual!r} does not contain {arg!r}")
            return
        if op == "$$var":
            return match(variables[arg], actual, path, variables, exact=True)
        if op == "$$anyOrder":
            if not isinstance(actual, list) or len(actual) != len(arg):
                fail(path, f"want {len(arg)} elements in any order, got {actual!r}")
            remaining = list(actual)
            for i, e in enumerate(arg):
                for j, a in enumerate(remaining):
                    try:
                        match(e, a, f"{path}[{i}]", variables, exact)
                    except Mismatch:
                        continue
                    del remaining[j]
                    break
                else:
                    fail(path, f"no element matches {e!r} among {remaining!r}")
            return
        if op == "$$exists":
            fail(path, "$$exists only applies to a field of a document")
        fail(path, f"unknown matcher {op}")
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            fail(path, f"want a document, got {actual!r}")
        present = []
        for k, e in expected.items():
            sub = f"{path}.{k}" if path else k
            if isinstance(e, dict) and list(e) == ["$$exists"]:
                if bool(e["$$exists"]) != (k in actual):
                    fail(sub, "missing" if k not in actual else f"present ({actual[k]!r})")
                if k in actual:
                    present.append(k)
                continue
            if k not in actual:
                fail(sub, f"missing (reply has {list(actual)})")
            match(e, actual[k], sub, variables, exact)
            present.append(k)
        if exact and list(actual) != present:
            fail(path, f"fields {list(actual)}, want exactly {present}")
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            fail(path, f"want {expected!r}, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            match(e, a, f"{path}[{i}]", variables, exact)
        return
    want_type, got_type = bson_type(expected), bson_type(actual)
    numeric = want_type in NUMBER_TYPES and got_type in NUMBER_TYPES
    if exact and want_type != got_type:
        fail(path, f"{actual!r} ({got_type}), want {expected!r} ({want_type})")
    if (want_type != got_type and not numeric) or expected != actual:
        fail(path, f"{actual!r}, want {expected!r}")


def substitute(value, variables):
    """Replaces every {"$$var": name} in a command with the value saved under that name."""
    if is_operator(value) and "$$var" in value:
        return variables[value["$$var"]]
    if isinstance(value, dict):
        return SON((k, substitute(v, variables)) for k, v in value.items())
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def lookup(doc, dotted):
    for part in dotted.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


# ---------------------------------------------------------------------------------------------
# Running steps.

@contextlib.contextmanager
def whole_command_in_body():
    """pymongo 3 moves insert.documents, update.updates and delete.deletes out of a command into
    an OP_MSG document sequence, and cannot encode them when they are not arrays of documents.
    The steps mean the command document as written, so send it whole in the body section."""
    saved = dict(pymongo.message._FIELD_MAP)
    pymongo.message._FIELD_MAP.clear()
    try:
        yield
    finally:
        pymongo.message._FIELD_MAP.update(saved)


class FileRun:
    """The state of one data file being replayed: its client, session and saved variables."""

    def __init__(self, name, client):
        self.name = name
        self.spec = FILES[name]
        self.client = client
        self.session = client.start_session()
        self.variables = {}
        self.next_step = 0
        client.drop_database(self.spec["database"])

    def run(self, index, check):
        step = self.spec["steps"][index]
        db = self.client[step.get("database", self.spec["database"])]
        command = substitute(step["command"], self.variables)
        shown = json_util.dumps(command)  # before pymongo adds $db, lsid and $clusterTime to it
        self.next_step = index + 1
        try:
            with whole_command_in_body():
                reply, error = db.command(command, session=self.session), None
        except OperationFailure as e:
            reply, error = e.details or {}, e
        if error is None:
            for var, dotted in step.get("save", {}).items():
                self.variables[var] = lookup(reply, dotted)
        if not check:
            return
        context = f"command {shown}\nreply   {json_util.dumps(reply)}"
        try:
            if "error" in step:
                assert error is not None, "the command succeeded; want an error"
                want = step["error"]
                assert set(want) <= {"code", "codeName", "errmsg"}, "unknown key in error"
                if "code" in want:
                    assert reply.get("code") == want["code"], f"code {reply.get('code')}"
                if "codeName" in want:
                    assert reply.get("codeName") == want["codeName"], f"codeName {reply.get('codeName')}"
                if "errmsg" in want:
                    assert want["errmsg"] in reply.get("errmsg", ""), f"errmsg lacks {want['errmsg']!r}"
            else:
                assert error is None, f"the command failed: {error}"
                match(step.get("expect", {}), reply, "", self.variables)
        except AssertionError as e:
            raise AssertionError(f"{self.name} step {index} ({step.get('description', '')}): "
                                 f"{e}\n{context}") from None

    def close(self):
        self.session.end_session()


class Targets:
    """Hands out one FileRun per data file: a fresh amalgamd for each (or CONFORMANCE_URI).
    A file's server is stopped (SIGTERM) when the next file starts; its exit is kept in `exits`
    and checked by test_clean_exit."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.server = None
        self.server_file = None  # the data file the running server was started for
        self.client = None
        self.run = None
        self.exits = {}  # data file -> (exit code, server log)

    def _connect(self, name):
        if URI:
            if self.client is None:
                self.client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
            return self.client
        self.stop_server()
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing: run scripts/build.sh amalgamd first")
        tmp = self.tmp_path_factory.mktemp(f"conformance_{name}")
        args = ["--data-dir", str(tmp / "data"), "--bind", "127.0.0.1", "--http-port", "0",
                "--mongo-port", "0", "--dynamo-port", "0"]
        self.server = Server(tmp / "data", args, log_path=tmp / "amalgamd.log")
        self.server_file = name
        self.server.wait_ready()
        self.client = pymongo.MongoClient("127.0.0.1", self.server.ports["mongo"],
                                          serverSelectionTimeoutMS=5000)
        return self.client

    def stop_server(self):
        if self.run:
            self.run.close()
            self.run = None
        if self.server is None:
            return
        self.client.close()
        code = self.server.stop()
        self.exits[self.server_file] = (code, self.server.log())
        self.server = None

    def for_step(self, name, index):
        if self.run is None or self.run.name != name or self.run.next_step > index:
            if self.run:
                self.run.close()
                self.run = None
            self.run = FileRun(name, self._connect(name))
        while self.run.next_step < index:
            self.run.run(self.run.next_step, check=False)
        return self.run

    def close(self):
        self.stop_server()
        if URI and self.client:
            self.client.close()


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    t = Targets(tmp_path_factory)
    yield t
    t.close()


@pytest.mark.parametrize("name,index", step_params())
def test_step(targets, name, index):
    targets.for_step(name, index).run(index, check=True)


@pytest.mark.skipif(bool(URI), reason="only for the amalgamd this module started")
@pytest.mark.parametrize("name", list(FILES))
def test_clean_exit(targets, name):
    """The amalgamd that ran a file's steps exits 0 on SIGTERM, whatever the steps left open."""
    if targets.server_file == name:
        targets.stop_server()
    if name not in targets.exits:
        pytest.skip(f"no server ran the {name} steps")
    code, log = targets.exits[name]
    assert code == 0, f"amalgamd exited with {code} after the {name} steps:\n{log}"


def test_every_area_has_cases():
    areas = {"crud_insert", "crud_find", "crud_update", "crud_delete", "find_and_modify",
             "indexes", "collections", "handshake", "errors"}
    assert areas <= set(FILES), f"missing data files: {sorted(areas - set(FILES))}"


def load_json(text):
    return json_util.loads(text, json_options=JSON_OPTIONS)


@pytest.mark.parametrize("expected,actual,ok", [
    ('{"a": 1}', '{"a": 1.0, "b": 2}', True),                     # subset; numbers by value
    ('{"a": 1}', '{"a": true}', False),                           # a bool is not a number
    ('{"a": {"$$exact": 1}}', '{"a": 1.0}', False),               # exact: same BSON type
    ('{"a": {"$$exact": {"b": 1, "c": 2}}}', '{"a": {"c": 2, "b": 1}}', False),  # exact: order
    ('{"a": {"$$exact": {"b": 1}}}', '{"a": {"b": 1, "c": 2}}', False),  # exact: no extra fields
    ('{"a": {"$$exact": {"$numberLong": "1"}}}', '{"a": {"$numberLong": "1"}}', True),
    ('{"a": [1, 2]}', '{"a": [2, 1]}', False),
    ('{"a": {"$$anyOrder": [1, 2]}}', '{"a": [2, 1]}', True),
    ('{"a": {"$$anyOrder": [1, 1]}}', '{"a": [1, 2]}', False),
    ('{"a": {"$$exists": false}}', '{"b": 1}', True),
    ('{"a": {"$$exists": false}}', '{"a": null}', False),
    ('{"a": {"$$type": "objectId"}}', '{"a": {"$oid": "65a000000000000000000001"}}', True),
    ('{"a": {"$$type": "long"}}', '{"a": 1}', False),
    ('{"a": {"$$type": "number"}}', '{"a": 1.5}', True),
    ('{"a": {"$$gte": 2}}', '{"a": 1}', False),
    ('{"a": {"$$contains": "dup key"}}', '{"a": "E11000 dup key: { _id: 1 }"}', True),
])
def test_matcher_rules(expected, actual, ok):
    try:
        match(load_json(expected), load_json(actual), "", {})
    except Mismatch:
        assert not ok
    else:
        assert ok
