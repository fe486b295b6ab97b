// Drives EvalMesh's OpenAI-compatible gateway with OpenAI's official Node.js SDK: node check.mjs BASE_URL.
// Each scenario prints "ok NAME"; the first that fails prints why and exits 1.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: `${process.argv[2]}/v1`, apiKey: 'unused-without-keys', maxRetries: 0 });
const question = [{ role: 'user', content: 'Which messages mention BigQuery?' }];

async function scenario(name, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (error) {
    console.error(`FAILED ${name}: ${error.stack ?? error}`);
    process.exit(1);
  }
}

await scenario('models', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.deepEqual(ids, ['tiny', 'tiny-random', 'tiny-random:adapter-1', 'tiny-random:adapter-2', 'tiny:adapter-1', 'tiny:adapter-2']);
});

let whole;
await scenario('chat', async () => {
  const { data, response } = await client.chat.completions.create({ model: 'tiny-random:adapter-1', messages: question, max_tokens: 6 }).withResponse();
  whole = data;
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.ok(data.choices[0].message.content.length > 0);
  assert.equal(data.choices[0].finish_reason, 'length');
  assert.equal(data.usage.completion_tokens, 6);
  assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + 6);
  assert.match(response.headers.get('x-evalmesh-silo'), /^S127\.0\.0\.1:/);
});

await scenario('chat-stream', async () => {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'tiny-random:adapter-1', messages: question, max_tokens: 6, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(response.headers.get('x-evalmesh-adapter-resident'), 'true');
  let text = '';
  let usage;
  let finish;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, 'length');
  assert.deepEqual(usage, whole.usage);
});

await scenario('chat-stream-helper', async () => {
  const stream = client.chat.completions.stream({ model: 'tiny-random:adapter-1', messages: question, max_tokens: 6 });
  const deltas = [];
  stream.on('content', delta => deltas.push(delta));
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
  assert.equal(deltas.join(''), whole.choices[0].message.content);
});

await scenario('choices', async () => {
  const data = await client.chat.completions.create({ model: 'tiny-random', messages: question, max_tokens: 4, temperature: 1.5, seed: 11, n: 3 });
  assert.deepEqual(data.choices.map(c => c.index), [0, 1, 2]);
  assert.equal(data.usage.completion_tokens, 12);
  const second = await client.chat.completions.create({ model: 'tiny-random', messages: question, max_tokens: 4, temperature: 1.5, seed: 12 });
  assert.equal(second.choices[0].message.content, data.choices[1].message.content);
});

await scenario('logprobs', async () => {
  const data = await client.chat.completions.create({ model: 'tiny-random:adapter-1', messages: question, max_tokens: 6, logprobs: true, top_logprobs: 3 });
  const tokens = data.choices[0].logprobs.content;
  assert.equal(tokens.map(t => t.token).join(''), data.choices[0].message.content);
  for (const token of tokens) {
    assert.equal(token.top_logprobs.length, 3);
    assert.equal(token.top_logprobs[0].logprob, token.logprob);
    assert.ok(token.logprob <= 0);
  }
});

await scenario('completions', async () => {
  const data = await client.completions.create({ model: 'tiny-random', prompt: 'Count to ten:', max_tokens: 5 });
  assert.equal(data.object, 'text_completion');
  assert.equal(data.usage.completion_tokens, 5);
  let text = '';
  for await (const chunk of await client.completions.create({ model: 'tiny-random', prompt: 'Count to ten:', max_tokens: 5, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, data.choices[0].text);
});

await scenario('errors', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'tiny-random:adapter-9', messages: question }), error => {
    assert.ok(error instanceof OpenAI.NotFoundError, `${error}`);
    assert.equal(error.code, 'model_not_found');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'tiny-random', messages: question, tools: [{ type: 'function', function: { name: 'f' } }] }), error => {
    assert.ok(error instanceof OpenAI.BadRequestError, `${error}`);
    assert.equal(error.param, 'tools');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'tiny-random', messages: question, max_tokens: 100000, stream: true }), error => {
    assert.ok(error instanceof OpenAI.BadRequestError, `${error}`);
    assert.equal(error.param, 'max_tokens');
    return true;
  });
});

// Leaving the loop early aborts the request; the gateway then stops generating (the test that runs this script checks
// the silo's count of generated tokens).
await scenario('hang-up', async () => {
  const stream = await client.chat.completions.create({ model: 'tiny-random', messages: question, max_tokens: 4000, stream: true });
  let pieces = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content && ++pieces === 3) break;
  }
  assert.equal(pieces, 3);
  assert.ok(stream.controller.signal.aborted);
});
