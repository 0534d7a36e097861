// OpenAI's and Anthropic's official Node SDKs, as a team would use them,
// pointed at our LLM emulator; driven by tests/tests/llm_sdks.rs:
//
//   node llm-sdks.mjs <call> <emulator origin> <api key> [max retries]
//
// <call> is one of openai-chat, openai-stream, openai-moderation,
// anthropic-message. Prints one JSON document on stdout: what the SDK
// returned, or {"error": {status, name, type}} for what it threw.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const [call, origin, apiKey, retries] = process.argv.slice(2);
const maxRetries = Number(retries ?? 0);
const openai = () => new OpenAI({ apiKey, baseURL: `${origin}/v1`, maxRetries });
const anthropic = () => new Anthropic({ apiKey, baseURL: origin, maxRetries });
const question = [{ role: 'user', content: 'hello from the sdk' }];

const calls = {
  'openai-chat': async () => {
    const completion = await openai().chat.completions.create({
      model: 'gpt-sdk',
      messages: [{ role: 'system', content: 'be brief' }, ...question],
    });
    return { text: completion.choices[0].message.content, model: completion.model };
  },
  'openai-stream': async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-sdk',
      messages: question,
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      chunks += 1;
    }
    return { text, chunks };
  },
  'openai-moderation': async () => {
    const moderation = await openai().moderations.create({
      model: 'omni-moderation-latest',
      input: ['a kind word', 'unsafe-violence in here'],
    });
    return {
      flagged: moderation.results.map((r) => r.flagged),
      violence: moderation.results.map((r) => r.category_scores.violence),
    };
  },
  'anthropic-message': async () => {
    const message = await anthropic().messages.create({
      model: 'claude-sdk',
      max_tokens: 64,
      messages: question,
    });
    return { text: message.content[0].text, stop_reason: message.stop_reason };
  },
};

try {
  console.log(JSON.stringify(await calls[call]()));
} catch (e) {
  if (e.status === undefined) throw e;
  const type = e.error?.error?.type ?? e.error?.type ?? e.type ?? null;
  console.log(JSON.stringify({ error: { status: e.status, name: e.constructor.name, type } }));
}
