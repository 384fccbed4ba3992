"""Expression and stage errors reach the client with MongoDB's location codes (not BadValue), as
the MongoDB 7.0 server reports them."""
import pymongo
import pytest
from pymongo.errors import OperationFailure


@pytest.fixture
def coll(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    coll = c.aggcodes.docs
    coll.insert_one({"_id": 1, "s": "abc", "n": 5, "arr": [1, 2]})
    yield coll
    c.close()


CASES = [
    ({"$concat": ["$s", 1]}, 16702, "$concat only supports strings, not int"),
    ({"$toUpper": True}, 16007, "can't convert from BSON type bool to String"),
    ({"$strLenCP": "$n"}, 34471, "$strLenCP requires a string argument, found: int"),
    ({"$split": ["$n", ","]}, 40085, "$split requires an expression that evaluates to a string as a first argument"),
    ({"$split": ["$s", 1]}, 40086, "$split requires an expression that evaluates to a string as a second argument"),
    ({"$split": ["$s", ""]}, 40087, "$split requires a non-empty separator"),
    ({"$arrayElemAt": ["$s", 0]}, 28689, "$arrayElemAt's first argument must be an array, but is string"),
    ({"$arrayElemAt": ["$arr", "x"]}, 28690, "$arrayElemAt's second argument must be a numeric value"),
    ({"$arrayElemAt": ["$arr", 0.5]}, 28691, "representable as a 32-bit integer"),
    ({"$first": "$n"}, 28689, "$first's argument must be an array, but is int"),
    ({"$concatArrays": ["$arr", "$n"]}, 28664, "$concatArrays only supports arrays, not int"),
    ({"$reverseArray": "$n"}, 34435, "The argument to $reverseArray must be an array, but was of type: int"),
    ({"$in": [1, "$n"]}, 40081, "$in requires an array as a second argument, found: int"),
    ({"$size": "$n"}, 17124, "The argument to $size must be an array"),
    ({"$map": {"input": "$arr", "x": 1}}, 16879, "Unrecognized parameter to $map: x"),
    ({"$range": ["a", 3]}, 34443, "$range requires a numeric starting value"),
]


@pytest.mark.parametrize("expr,code,message", CASES)
def test_expression_errors_carry_mongodbs_code(coll, expr, code, message):
    with pytest.raises(OperationFailure) as e:
        list(coll.aggregate([{"$project": {"r": expr}}]))
    assert e.value.code == code, e.value.details
    assert e.value.details["codeName"] == f"Location{code}"
    assert message in e.value.details["errmsg"]


def test_stage_argument_errors_carry_mongodbs_code(coll):
    for stage, code in (({"$skip": -1}, 5107200), ({"$limit": "x"}, 5107201)):
        with pytest.raises(OperationFailure) as e:
            list(coll.aggregate([stage]))
        assert e.value.code == code, stage
