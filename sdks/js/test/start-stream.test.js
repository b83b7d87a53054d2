import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Ithaca } from "../src/index.js";

// startStream's command, captured before it would go to the streamer.
async function commandOf(options) {
  const client = new Ithaca();
  let sent = null;
  client._request = async (command) => {
    sent = command;
    return { stream_id: "st_1" };
  };
  assert.equal(await client.startStream(options), "st_1");
  return sent;
}

describe("startStream params", () => {
  test("params are sent in interactive_stream_start as given", async () => {
    const params = { seed: 7, guidance: 3.5, nested: { a: [1] } };
    const command = await commandOf({ prompt: "a cat", params });
    assert.equal(command.type, "interactive_stream_start");
    assert.deepEqual(command.params, params);
  });

  test("without params the command is what the official SDK sends: no params key", async () => {
    const command = await commandOf({ prompt: "a cat" });
    assert.equal("params" in command, false);
    assert.deepEqual(Object.keys(command).sort(), [
      "broadcast",
      "input_image_base64",
      "portrait",
      "prompt",
      "type",
    ]);
  });

  test("params that are not a plain object are a TypeError", async () => {
    const client = new Ithaca();
    for (const params of [null, [1], "seed=1", 3]) {
      await assert.rejects(client.startStream({ prompt: "p", params }), TypeError);
    }
  });
});
