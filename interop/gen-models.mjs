// gen-models.mjs regenerates the DataStore schema metadata (models/schema.js)
// from a GraphQL schema with Amplify's own model generator, the same plugin
// `amplify codegen models` runs. The output is written at test time (npm's
// pretest) rather than committed, so the JS client always describes exactly the
// schema the server under test was started with.
//
// Usage: node gen-models.mjs [schema.graphql] [outDir]
// Defaults: ../examples/blog/schema.graphql and ./models.
import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { codegen } = require('@graphql-codegen/core');
const { buildSchema, parse } = require('graphql');
const modelgen = require('@aws-amplify/appsync-modelgen-plugin');
const { DefaultDirectives, V1Directives, AppSyncDirectives, DeprecatedDirective } = require('@aws-amplify/graphql-directives');

const here = path.dirname(fileURLToPath(import.meta.url));

// AWS AppSync scalars; the plugin maps them but the SDL must declare them.
const awsScalars = [
  'AWSDate', 'AWSTime', 'AWSDateTime', 'AWSTimestamp', 'AWSEmail', 'AWSJSON',
  'AWSURL', 'AWSPhone', 'AWSIPAddress',
].map((s) => `scalar ${s}`).join('\n');

/**
 * generate renders the DataStore schema metadata module for the SDL in schemaPath.
 * @param {string} schemaPath path of the GraphQL schema
 * @returns {Promise<string>} the text of schema.js (an ES module exporting `schema`)
 */
export async function generate(schemaPath) {
  const sdl = await readFile(schemaPath, 'utf8');
  // A schema using a transformer v1 directive is generated as Amplify does
  // for a v1 project: the v1 directive set and transformerVersion 1.
  const v1 = /@(key|connection|versioned)\b/.test(sdl.replace(/#.*$/gm, ''));
  const directives = (v1 ? [...V1Directives, ...AppSyncDirectives, DeprecatedDirective] : DefaultDirectives).map((d) => d.definition).join('\n');
  let schema;
  try {
    schema = buildSchema([awsScalars, directives, sdl].join('\n'));
  } catch (err) {
    throw new Error(`gen-models: ${schemaPath}: ${err.message}`, { cause: err });
  }
  // The settings of @aws-amplify/graphql-generator's generateModels() for a
  // DataStore-enabled Gen 1 project (see /work/shared/notes/modelgen.md).
  return codegen({
    filename: 'schema.js',
    schema: parse(printSchemaForCodegen(schema)),
    documents: [],
    plugins: [{ appSyncLocalCodeGen: {} }],
    pluginMap: { appSyncLocalCodeGen: modelgen },
    config: {
      target: 'metadata',
      metadataTarget: 'javascript',
      directives,
      isDataStoreEnabled: true,
      isTimestampFieldsAdded: true,
      emitAuthProvider: true,
      generateIndexRules: true,
      handleListNullabilityTransparently: true,
      usePipelinedTransformer: !v1,
      transformerVersion: v1 ? 1 : 2,
      respectPrimaryKeyAttributesOnConnectionField: !v1,
      improvePluralization: false,
      generateModelsForLazyLoadAndCustomSelectionSet: true,
      codegenVersion: '2.15.3',
    },
  });
}

function printSchemaForCodegen(schema) {
  const { printSchemaWithDirectives } = require('@graphql-tools/utils');
  return printSchemaWithDirectives(schema);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const schemaPath = path.resolve(process.argv[2] ?? path.join(here, '..', 'examples', 'blog', 'schema.graphql'));
  const outDir = path.resolve(process.argv[3] ?? path.join(here, 'models'));
  const text = await generate(schemaPath);
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'schema.js'), text);
  console.error(`gen-models: wrote ${path.relative(process.cwd(), path.join(outDir, 'schema.js'))} from ${schemaPath}`);
}
