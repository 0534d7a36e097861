// Tencent Cloud's official Node SDK, as a team would use it, driven by
// tests/tests/tencent_sdk.rs:
//
//   node tencent-sdk.cjs sign  < requests.json   the SDK's own TC3 signer over each request
//   node tencent-sdk.cjs call <port> <secretId> <secretKey>
//                                                TextModeration and ImageModeration through the
//                                                SDK's clients, and AMS's
//                                                CreateAudioModerationSyncTask and VM's
//                                                CreateVideoModerationTask through its
//                                                CommonClient (neither has a package of its own
//                                                on npm), every connection sent to
//                                                127.0.0.1:<port> (the emulator) while the SDK
//                                                believes it talks to *.tencentcloudapi.com
//
// Prints one JSON document on stdout.
"use strict";
const http = require("http");
const net = require("net");
const { tms } = require("tencentcloud-sdk-nodejs-tms");
const { ims } = require("tencentcloud-sdk-nodejs-ims");
const { CommonClient } = require("tencentcloud-sdk-nodejs-common");
const Sign = require("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign").default;

function sign(requests) {
  return requests.map((r) =>
    Sign.sign3({
      method: "POST",
      url: `https://${r.host}/`,
      payload: Buffer.from(r.payload, "utf8"),
      timestamp: r.timestamp,
      service: r.service,
      secretId: r.secretId,
      secretKey: r.secretKey,
      headers: { "Content-Type": r.contentType },
    }),
  );
}

// An agent whose every connection goes to the emulator on loopback: the
// Host header and the signed host stay the real API's.
class ToEmulator extends http.Agent {
  constructor(port) {
    super({ keepAlive: false });
    this.port = port;
  }
  createConnection(_options, callback) {
    const socket = net.connect({ host: "127.0.0.1", port: this.port });
    if (callback) socket.once("connect", () => callback(null, socket));
    return socket;
  }
}

async function outcome(promise) {
  try {
    const answer = await promise;
    return { Suggestion: answer.Suggestion, Label: answer.Label, Score: answer.Score };
  } catch (e) {
    return { error: e.code || String(e) };
  }
}

async function call(port, secretId, secretKey) {
  const client = (Client, endpoint, key) =>
    new Client({
      credential: { secretId, secretKey: key },
      region: "ap-singapore",
      profile: { httpProfile: { endpoint, protocol: "http://", agent: new ToEmulator(port), reqTimeout: 10 } },
    });
  const text = client(tms.v20201229.Client, "tms.tencentcloudapi.com", secretKey);
  const image = client(ims.v20201229.Client, "ims.tencentcloudapi.com", secretKey);
  const forged = client(tms.v20201229.Client, "tms.tencentcloudapi.com", secretKey + "-guessed");
  const common = (endpoint, version) =>
    new CommonClient(endpoint, version, {
      credential: { secretId, secretKey },
      region: "ap-singapore",
      profile: { httpProfile: { protocol: "http://", agent: new ToEmulator(port), reqTimeout: 10 } },
    });
  const audio = common("ams.tencentcloudapi.com", "2020-12-29");
  const video = common("vm.tencentcloudapi.com", "2021-09-22");
  const task = async (params) => {
    try {
      const answer = await video.request("CreateVideoModerationTask", params);
      const [first] = answer.Results;
      return { Code: first.Code, DataId: first.DataId, hasTaskId: first.TaskId.length > 0 };
    } catch (e) {
      return { error: e.code || String(e) };
    }
  };
  const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
  return {
    clean: await outcome(text.TextModeration({ Content: b64("你好, where is my order?"), DataId: "sdk-1" })),
    abuse: await outcome(text.TextModeration({ Content: b64("you are unsafe-abuse 傻"), DataId: "sdk-2" })),
    review: await outcome(text.TextModeration({ Content: b64("maybe review-ad here") })),
    image: await outcome(image.ImageModeration({ FileUrl: "https://cdn.example/unsafe-porn.png", DataId: "sdk-3" })),
    forged: await outcome(forged.TextModeration({ Content: b64("hello") })),
    audio: await outcome(
      audio.request("CreateAudioModerationSyncTask", {
        FileUrl: "https://cdn.example/unsafe-abuse.mp3", FileFormat: "mp3", DataId: "sdk-4",
      }),
    ),
    video: await task({
      Type: "VIDEO",
      Tasks: [{ DataId: "sdk-5", Input: { Type: "URL", Url: "https://cdn.example/clip.mp4" } }],
      // Nothing listens there: the emulator's posted result goes nowhere.
      CallbackUrl: "http://127.0.0.1:9/moderation/tencent/video",
      Seed: "sdk-seed",
    }),
    silk: await outcome(
      audio.request("CreateAudioModerationSyncTask", { FileUrl: "https://cdn.example/a.silk", FileFormat: "silk" }),
    ),
  };
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "sign") {
    const input = require("fs").readFileSync(0, "utf8");
    return sign(JSON.parse(input));
  }
  if (mode === "call") {
    const [port, secretId, secretKey] = args;
    return call(Number(port), secretId, secretKey);
  }
  throw new Error(`unknown mode ${mode}: use sign or call`);
}

main().then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e));
    process.exit(1);
  },
);
