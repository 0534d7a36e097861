// The Node server a team would write instead of deploying the moderator:
// Node's own `http`, the `obscenity` package with its English dataset and
// recommended transformers, answering Tencent Cloud Chat's
// `Group.CallbackBeforeSendMsg` / `C2C.CallbackBeforeSendMsg`. It checks the
// callback's `Sign` (SHA-256 of token and RequestTime) and its age, as
// anything reachable from the internet must, and delivers a masked copy of
// every text element that matches.
//
// Started by `tests/benches/versus_node.rs` with PORT=0 and CALLBACK_TOKEN;
// prints `listening <port>` once it accepts connections.
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  RegExpMatcher,
  TextCensor,
  englishDataset,
  englishRecommendedTransformers,
} from 'obscenity';

const token = process.env.CALLBACK_TOKEN ?? '';
const maxBody = 64 * 1024;
const matcher = new RegExpMatcher({
  ...englishDataset.build(),
  ...englishRecommendedTransformers,
});
const censor = new TextCensor();

function signed(query) {
  const time = query.get('RequestTime') ?? '';
  const sign = Buffer.from(query.get('Sign') ?? '');
  const expected = Buffer.from(createHash('sha256').update(token + time).digest('hex'));
  const age = Math.abs(Date.now() / 1000 - Number(time));
  return sign.length === expected.length && timingSafeEqual(sign, expected) && age <= 60;
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function decide(callback) {
  let masked = false;
  const body = (callback.MsgBody ?? []).map((element) => {
    const text = element?.MsgContent?.Text;
    if (element?.MsgType !== 'TIMTextElem' || typeof text !== 'string') return element;
    const matches = matcher.getAllMatches(text);
    if (matches.length === 0) return element;
    masked = true;
    return { ...element, MsgContent: { ...element.MsgContent, Text: censor.applyTo(text, matches) } };
  });
  return masked
    ? { ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0, MsgBody: body }
    : { ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'POST' || !signed(url.searchParams)) {
    answer(res, 401, { error: 'unsigned' });
    req.resume();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= maxBody) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > maxBody) return answer(res, 413, { error: 'too large' });
    let callback;
    try {
      callback = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // IM delivers whatever a before-callback answers with a non-200.
      return answer(res, 200, { ActionStatus: 'OK', ErrorInfo: 'unreadable', ErrorCode: 1 });
    }
    answer(res, 200, decide(callback));
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
