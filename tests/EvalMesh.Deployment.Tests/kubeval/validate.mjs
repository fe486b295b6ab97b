// Validates Kubernetes objects offline against the JSON schemas bundled with kubernetes-models (the Kubernetes API)
// and @kubernetes-models/prometheus-operator (ServiceMonitor and the operator's other kinds).
// Reads multi-document YAML on stdin. Prints one line per problem, "Kind/name: /path: message", and exits 1 if there
// is any; otherwise prints "N objects valid". An apiVersion and kind with no schema is a problem too, so that nothing
// passes unvalidated. The schemas check types, required fields, enums and formats, not unknown fields.
import { parseAllDocuments } from "yaml";

const modelPackages = ["kubernetes-models", "@kubernetes-models/prometheus-operator"];
const apiVersionPattern = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;

/** The model class for an apiVersion and kind, or undefined when no package has one. */
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !apiVersionPattern.test(apiVersion)) {
    return undefined;
  }

  for (const modelPackage of modelPackages) {
    let models;
    try {
      models = await import(`${modelPackage}/${apiVersion}`);
    } catch (error) {
      if (error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || error.code === "ERR_MODULE_NOT_FOUND") {
        continue;
      }

      throw error;
    }

    // Only top-level kinds: the modules also export their parts (DeploymentSpec...), which have no kind of their own.
    const model = models[kind];
    if (model?.kind === kind && model.apiVersion === apiVersion) {
      return model;
    }
  }

  return undefined;
}

const problem = (name, path, message) => `${name}: ${path}: ${message}`;

/** One line per way an object breaks its schema. */
async function problemsOf(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return [problem("(document)", "/", "is not an object")];
  }

  const name = `${object.kind}/${object.metadata?.name ?? "(no name)"}`;
  const Model = await modelFor(object.apiVersion, object.kind);
  if (!Model) {
    return [problem(name, "/", `unknown apiVersion ${object.apiVersion} and kind ${object.kind}: no schema to validate against`)];
  }

  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    if (!Array.isArray(error.errors)) {
      throw error;
    }

    return error.errors.map(e => problem(name, e.instancePath || "/", e.message));
  }
}

let input = "";
for await (const chunk of process.stdin) {
  input += chunk;
}

const problems = [];
let objects = 0;
for (const document of parseAllDocuments(input)) {
  if (document.errors.length > 0) {
    problems.push(...document.errors.map(error => problem("(yaml)", "/", error.message.split("\n")[0])));
    continue;
  }

  const object = document.toJS();
  if (object !== null) {
    objects++;
    problems.push(...(await problemsOf(object)));
  }
}

// A schema reached twice (through a $ref) reports the same problem twice: print each once.
for (const line of new Set(problems)) {
  console.log(line);
}

if (problems.length > 0) {
  process.exit(1);
}

console.log(`${objects} objects valid`);
