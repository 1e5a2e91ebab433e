// Validates Kubernetes objects against the API schemas of the npm package
// kubernetes-models, and strictly: a key that the schema does not know is an
// error too (the API server would drop it without a word, or refuse it under
// kubectl apply --validate=strict).
//
// usage: node k8s_validate.js NODE_MODULES_DIR < objects.json
//   objects.json: a JSON array of objects (the rendered manifests)
// Prints one line per problem and exits 1 if there is any.
//
// The schemas are compiled validators, not data to read; the strict check
// hands each object to them behind a Proxy that records every key a
// validator looks at. A validator reads each property its schema names, and
// every key of a map (labels, data); a key it never reads is unknown.
"use strict";

const fs = require("fs");
const path = require("path");

const modules = process.argv[2];
if (!modules) {
    console.error("usage: node k8s_validate.js NODE_MODULES_DIR < objects.json");
    process.exit(2);
}
const models = path.join(modules, "kubernetes-models");

// The schema module for apiVersion and kind, found through the model's own
// require of it (core objects live under v1/, others under group/version/).
function schemaFor(apiVersion, kind) {
    const file = path.join(models, apiVersion, kind + ".js");
    if (!/^[a-z0-9.\/]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind) || !fs.existsSync(file))
        return null;
    const m = /require\("((?:\.\.\/)+_schemas\/\w+\.js)"\)/.exec(fs.readFileSync(file, "utf8"));
    return m ? require(path.join(path.dirname(file), m[1])).validate : null;
}

// Wraps value so that every key read is added to `read` as a JSON pointer.
function watch(value, pointer, read) {
    if (value === null || typeof value !== "object")
        return value;
    return new Proxy(value, {
        get(target, key, receiver) {
            const v = Reflect.get(target, key, receiver);
            if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(target, key))
                return v;
            const p = pointer + "/" + key.replace(/~/g, "~0").replace(/\//g, "~1");
            read.add(p);
            return watch(v, p, read);
        },
    });
}

// Every key in value that was never read, as JSON pointers.
function unread(value, pointer, read, out) {
    if (value === null || typeof value !== "object")
        return out;
    for (const key of Object.keys(value)) {
        const p = pointer + "/" + key.replace(/~/g, "~0").replace(/\//g, "~1");
        if (!read.has(p))
            out.push(p);
        else
            unread(value[key], p, read, out);
    }
    return out;
}

const objects = JSON.parse(fs.readFileSync(0, "utf8"));
let problems = 0;
for (const obj of objects) {
    const name = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
    const validate = schemaFor(obj.apiVersion, obj.kind);
    if (!validate) {
        console.log(`${name}: no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`);
        problems++;
        continue;
    }
    const read = new Set(["/apiVersion", "/kind"]);
    const ok = validate(watch(obj, "", read));
    for (const e of ok ? [] : validate.errors) {
        console.log(`${name}: ${e.instancePath || "/"} ${e.keyword}: ${JSON.stringify(e.params)}`);
        problems++;
    }
    for (const p of unread(obj, "", read, [])) {
        console.log(`${name}: ${p} is not a field of ${obj.apiVersion} ${obj.kind}`);
        problems++;
    }
}
console.log(`${objects.length} objects, ${problems} problems`);
process.exit(problems ? 1 : 0);
