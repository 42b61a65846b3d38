// The real Amplify GraphQL client (aws-amplify/api, as Amplify apps call
// their API) reading dsgen serve's refusals. A document that parses but
// fails validation, or lacks a required variable, is answered as AppSync
// answers it: HTTP 200, "data": null and the errors, whose messages reach
// the app; Amplify turns a non-2xx GraphQL answer into a generic error.
// (A document that does not parse never leaves Amplify: it parses the
// query itself first.)
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Amplify } from 'aws-amplify';
import { generateClient } from 'aws-amplify/api';

import { startServer, API_KEY } from './harness.mjs';

/** refusal runs one operation through Amplify and returns what it threw. */
async function refusal(client, query, variables) {
  try {
    const res = await client.graphql({ query, variables });
    assert.fail(`${query} was not refused: ${JSON.stringify(res)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

test("Amplify's GraphQL client reads the messages of validation errors", async (t) => {
  const server = await startServer({ t });
  Amplify.configure({ API: { GraphQL: { endpoint: server.endpoint, region: 'us-east-1', defaultAuthMode: 'apiKey', apiKey: API_KEY } } });
  const client = generateClient();

  const undefinedField = await refusal(client, '{ badfield }');
  assert.equal(undefinedField.data, null, 'data is null');
  assert.match(undefinedField.errors?.[0]?.message ?? '', /^Validation error of type FieldUndefined: Field 'badfield' in type 'Query' is undefined/,
    `the app sees the server's message: ${JSON.stringify(undefinedField.errors)}`);

  const missingVariable = await refusal(client, 'mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }', {});
  assert.equal(missingVariable.data, null, 'data is null');
  assert.match(missingVariable.errors?.[0]?.message ?? '', /\$input/, `the app sees which variable: ${JSON.stringify(missingVariable.errors)}`);

  const synced = await server.gql('query { syncPosts { items { id } } }');
  assert.deepEqual(synced.syncPosts.items, [], 'nothing was written');
});
