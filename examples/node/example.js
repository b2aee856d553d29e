// One StreamChat on LlmService: two requests in flight at once (OpenAI and Anthropic), and a third that is cancelled
// after its first delta. Every request must end with exactly one terminal: the two answered (stop), the third
// cancelled (code 499). Exits 0 when all checks pass.
//   INTEGRATION_API_ADDRESS=127.0.0.1:9004 INTEGRATION_API_KEY=rpd-prj-dev-key PROVIDER_KEY=demo-key node example.js
'use strict';
const { connect, openStream, modelParameters, struct, textMessage, textOf } = require('./integration-client');

const address = process.env.INTEGRATION_API_ADDRESS ?? '127.0.0.1:9004';
const apiKey = process.env.INTEGRATION_API_KEY ?? 'rpd-prj-dev-key';
const providerKey = process.env.PROVIDER_KEY ?? 'demo-key';

function chat(id, provider, model, prompt) {
  return {
    clientRequestId: id,
    providerName: provider,
    credential: { value: struct({ key: providerKey }) },
    conversations: [textMessage('user', prompt)],
    modelParameters: modelParameters({ name: model, temperature: 0.2, max_completion_tokens: 200 }),
  };
}

async function main() {
  const client = connect(address);
  const terminals = new Map();
  const deltas = new Map();
  let stream;
  const firstDeltaOfLong = new Promise((resolve) => {
    stream = openStream(client, apiKey, (response) => {
      const id = response.clientRequestId;
      if (response.finishReason) terminals.set(id, response);
      else deltas.set(id, (deltas.get(id) ?? '') + textOf(response));
      if (id === 'long') resolve(); // its first delta (or, should it fail at once, its terminal)
    });
  });

  stream.send(chat('openai-1', 'openai', 'gpt-4o-mini', 'Hello from Node'));
  stream.send(chat('anthropic-1', 'anthropic', 'claude-sonnet-4-5', 'Hello again from Node'));
  stream.send(chat('long', 'openai', 'gpt-4o-mini', Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ')));
  await firstDeltaOfLong;
  stream.cancel('long');
  stream.end();
  await stream.done;
  client.close();

  const checks = [];
  const check = (name, ok, detail = '') => { checks.push(ok); console.log(`  ${ok ? 'PASS' : 'FAIL'} node: ${name}${ok ? '' : ' ' + detail}`); };
  for (const id of ['openai-1', 'anthropic-1']) {
    const t = terminals.get(id);
    check(`${id} answered`, t?.success === true && t.finishReason === 'stop' && textOf(t).startsWith('You said:'), JSON.stringify(t?.error ?? t?.finishReason));
    check(`${id} deltas add up to the answer`, t !== undefined && deltas.get(id) === textOf(t));
    check(`${id} has token metrics`, (t?.metrics ?? []).some((m) => m.name === 'TOTAL_TOKEN'));
  }
  const cancelled = terminals.get('long');
  check('long cancelled with one terminal', cancelled?.finishReason === 'cancelled' && cancelled.code === 499, JSON.stringify(cancelled?.finishReason));
  check('exactly three terminals', terminals.size === 3, `${terminals.size}`);
  return checks.every(Boolean) ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => { console.error(`  FAIL node: ${err.stack ?? err}`); process.exit(1); });
