"""tests/fixtures/ocsf/make_schema.py encodes a compiled OCSF class the way the OCSF server's JSON Schema export
does (lib/schema/json_schema.ex): profile filtering, required and constrained attributes, enums, arrays, objects."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / "make_schema.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_schema", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPILED = {
    "version": "9.9.9",
    "dictionary": {"types": {"attributes": {"timestamp_t": {"type": "long_t"}, "uid_t": {"type": "string_t"}}}},
    "classes": {
        "thing_found": {
            "uid": 2999,
            "name": "thing_found",
            "caption": "Thing Found",
            "attributes": {
                "class_uid": {"caption": "Class", "type": "integer_t", "requirement": "required", "enum": {"2999": {}}},
                "severity_id": {
                    "caption": "Sev",
                    "type": "integer_t",
                    "requirement": "required",
                    "enum": {"99": {}, "1": {}},
                },
                "time": {"caption": "Time", "type": "timestamp_t", "requirement": "required"},
                "tags": {"caption": "Tags", "type": "string_t", "is_array": True, "requirement": "optional"},
                "box": {"caption": "Box", "type": "object_t", "object_type": "box", "requirement": "required"},
                "cloud": {
                    "caption": "Cloud",
                    "type": "object_t",
                    "object_type": "cloud",
                    "requirement": "required",
                    "profiles": ["cloud"],
                },
                "raw": {"caption": "Raw", "type": "json_t", "requirement": "optional"},
            },
        }
    },
    "objects": {
        "box": {
            "name": "box",
            "caption": "Box",
            "constraints": {"at_least_one": ["name", "uid"]},
            "attributes": {
                "name": {"caption": "Name", "type": "string_t", "requirement": "recommended"},
                "uid": {"caption": "UID", "type": "uid_t", "requirement": "recommended"},
                "items": {"caption": "Items", "type": "object_t", "object_type": "win/item", "is_array": True},
            },
        },
        "win/item": {"name": "win/item", "caption": "Item", "attributes": {}},
        "cloud": {
            "name": "cloud",
            "caption": "Cloud",
            "attributes": {"provider": {"type": "string_t", "requirement": "required"}},
        },
    },
}


def test_the_encoder_follows_the_servers_rules() -> None:
    schema = _script().class_schema(COMPILED, "thing_found", set())  # no profile applied
    assert schema["$id"] == "https://schema.ocsf.io/schema/classes/thing_found"
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#" and schema["additionalProperties"] is False
    assert schema["required"] == ["box", "class_uid", "severity_id", "time"]  # cloud's profile is not applied
    assert "cloud" not in schema["properties"]
    assert "cloud" in schema["$defs"]  # the server gathers referenced objects from the unfiltered class
    props = schema["properties"]
    assert props["class_uid"] == {"title": "Class", "type": "integer", "const": 2999}
    assert props["severity_id"] == {"title": "Sev", "type": "integer", "enum": [1, 99]}
    assert props["time"] == {"title": "Time", "type": "integer"}  # timestamp_t is a long_t
    assert props["tags"] == {"title": "Tags", "type": "array", "items": {"type": "string"}}
    assert props["box"] == {"title": "Box", "$ref": "#/$defs/box"} and props["raw"] == {"title": "Raw"}
    box = schema["$defs"]["box"]
    assert box["anyOf"] == [{"required": ["name"]}, {"required": ["uid"]}] and "required" not in box
    assert box["properties"]["uid"] == {"title": "UID", "type": "string"}
    assert box["properties"]["items"] == {"title": "Items", "type": "array", "items": {"$ref": "#/$defs/win_item"}}
    assert schema["$defs"]["win_item"]["additionalProperties"] is True  # an object without attributes is open
    with_cloud = _script().class_schema(COMPILED, "thing_found", {"cloud"})
    assert "cloud" in with_cloud["required"] and with_cloud["properties"]["cloud"]["$ref"] == "#/$defs/cloud"
