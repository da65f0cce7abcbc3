"""Print the top-level keys cloud-init's installed schema knows, one per line.

cloud-init 22.4 lets unknown top-level keys pass `cloud-init schema`; a typo (`write_file:`) would be
ignored on the droplet. The list comes from the schema of the cloud-init that is installed.
"""
import json
import os

import cloudinit.config.schemas as schemas

path = os.path.join(os.path.dirname(schemas.__file__), "schema-cloud-config-v1.json")
with open(path) as f:
    schema = json.load(f)
keys = set(schema.get("properties", {}))
for part in schema["allOf"]:
    name = part["$ref"].rsplit("/", 1)[-1]
    keys |= set(schema["$defs"][name].get("properties", {}))
print("\n".join(sorted(keys)))
