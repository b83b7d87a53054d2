// decodeMarker (src/frame-marker.js) on synthetic RGBA strips drawn as
// ithaca/media/frame_marker.hpp lays them out: every sequence number round-trips at scale 1 and
// scaled, and a strip without contrast, with a wrong check or cut short reads as null.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MARKER_BLOCKS,
  MARKER_BLOCK_HEIGHT,
  MARKER_BLOCK_WIDTH,
  decodeMarker,
  markerCheckBits,
} from "../src/frame-marker.js";

// The marker strip of `sequence` (check bits overridable), scaled, as canvas ImageData.
function strip(sequence, { scale = 1, check = markerCheckBits(sequence), white = 235 } = {}) {
  const width = Math.ceil(MARKER_BLOCKS * MARKER_BLOCK_WIDTH * scale);
  const height = Math.ceil(MARKER_BLOCK_HEIGHT * scale);
  const bits = [1, 0];
  for (let i = 15; i >= 0; i--) bits.push((sequence >> i) & 1);
  for (let i = 3; i >= 0; i--) bits.push((check >> i) & 1);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const block = Math.min(MARKER_BLOCKS - 1, Math.floor(x / (MARKER_BLOCK_WIDTH * scale)));
      const level = bits[block] ? white : 16;
      data.set([level, level, level, 255], (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

test("every sequence number round-trips", () => {
  for (const s of [0, 1, 2, 0x7fff, 0x8000, 0xabcd, 0xffff]) {
    assert.equal(decodeMarker(strip(s)), s);
    assert.equal(decodeMarker(strip(s, { scale: 0.5 }), 0.5), s);
    assert.equal(decodeMarker(strip(s, { scale: 1.5 }), 1.5), s);
  }
});

test("no marker: low contrast, a wrong check, a strip cut short", () => {
  assert.equal(decodeMarker(strip(42, { white: 60 })), null);
  assert.equal(decodeMarker(strip(42, { check: markerCheckBits(42) ^ 1 })), null);
  const s = strip(42);
  assert.equal(decodeMarker({ ...s, width: s.width / 2 }), null);
});
