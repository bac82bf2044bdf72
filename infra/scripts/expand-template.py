"""Writes template.yaml with its per-source loops (Fn::ForEach) expanded for the given Sources, as
the AWS::LanguageExtensions transform does at deploy time, and everything else left as written
(conditions, !If, !Sub). Checkov reads no Fn::ForEach, so infra/scripts/check-template runs it on
this output. It expands only what the template uses: a Ref to a parameter, a literal list or a
Fn::FindInMap (with DefaultValue) as the collection, and ${X}, &{X} and {"Ref": X} in the body; a !Sub left with nothing to substitute becomes its string.

usage: .venv-sam/bin/python infra/scripts/expand-template.py SOURCES OUT [TEMPLATE]   (SOURCES: a,b,c)
The tests import `expand` to read what `sam build` wrote."""

import json
import re
import sys

LOOP = "Fn::ForEach::"


def substitute(node, name: str, value: str):
    if isinstance(node, str):
        return node.replace(f"${{{name}}}", value).replace(f"&{{{name}}}", re.sub(r"[^A-Za-z0-9]", "", value))
    if isinstance(node, list):
        return [substitute(n, name, value) for n in node]
    if isinstance(node, dict):
        if node == {"Ref": name}:
            return value
        done = {substitute(k, name, value): substitute(v, name, value) for k, v in node.items()}
        # The transform resolves what it can: a !Sub with nothing left to substitute is its string.
        sub = done.get("Fn::Sub")
        return sub if len(done) == 1 and isinstance(sub, str) and "${" not in sub else done
    return node


def collection(node, template: dict, params: dict) -> list:
    if isinstance(node, list):
        return node
    if "Ref" in node:
        return params[node["Ref"]]
    if "Fn::FindInMap" in node:
        mapping, top, second, *default = node["Fn::FindInMap"]
        found = template["Mappings"].get(mapping, {}).get(top, {}).get(second)
        return found if found is not None else default[0]["DefaultValue"]
    raise SystemExit(f"unsupported Fn::ForEach collection: {node}")


def expand(section: dict, template: dict, params: dict) -> dict:
    out = {}
    for key, value in section.items():
        if not key.startswith(LOOP):
            out[key] = value
            continue
        name, items, body = value
        for item in collection(items, template, params):
            for k, v in expand(substitute(body, name, item), template, params).items():
                if k in out:
                    raise SystemExit(f"{k} is made twice")
                out[k] = v
    return out


def main() -> None:
    from samcli.yamlhelper import yaml_parse  # SAM's loader: knows the short forms (!Ref, !Sub, …)

    sources, out = sys.argv[1].split(","), sys.argv[2]
    with open(sys.argv[3] if len(sys.argv) > 3 else "template.yaml") as f:
        template = yaml_parse(f.read())
    for section in ("Conditions", "Resources", "Outputs"):
        if section in template:
            template[section] = expand(template[section], template, {"Sources": sources})
    template["Transform"] = [t for t in template["Transform"] if t != "AWS::LanguageExtensions"]
    with open(out, "w") as f:
        json.dump(template, f, indent=1)


if __name__ == "__main__":
    main()
