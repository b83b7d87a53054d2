// The frame marker (ithaca/media/frame_marker.hpp) read from decoded video, so a page can tell
// which prompt a frame answers and measure prompt-to-photon latency with no side channel: an
// Ithaca addition (the Odyssey SDKs have nothing like it). Plain ES module, no Node APIs; the
// demo page, the e2e tests and the benchmarks all read markers with it. The layout, in short:
// 22 blocks of 32x16 px along the top-left edge of the 1280x704 (or 704x1280) frame; block 0
// white, block 1 black, blocks 2..17 the 16-bit prompt sequence number (most significant
// first), blocks 18..21 the check bits (s ^ s>>4 ^ s>>8 ^ s>>12 ^ 0xA) & 0xF. The C++ header is
// the specification.

export const MARKER_BLOCKS = 22;
export const MARKER_BLOCK_WIDTH = 32;
export const MARKER_BLOCK_HEIGHT = 16;
export const MARKER_MIN_CONTRAST = 64;

/** The 4 check bits of a sequence number. */
export function markerCheckBits(sequence) {
  const s = sequence & 0xffff;
  return (s ^ (s >> 4) ^ (s >> 8) ^ (s >> 12) ^ 0xa) & 0xf;
}

/**
 * Decodes the marker from RGBA pixels (a canvas ImageData: data, width, height) that hold at
 * least the marker strip of a frame scaled by `scale`. Returns the sequence number, or null
 * when there is no readable marker.
 */
export function decodeMarker(image, scale = 1) {
  const { data, width, height } = image;
  const at = (v) => Math.round(v * scale);
  const levels = [];
  for (let i = 0; i < MARKER_BLOCKS; i++) {
    const x0 = at(MARKER_BLOCK_WIDTH * i + 8);
    const x1 = at(MARKER_BLOCK_WIDTH * i + 24);
    const y0 = at(4);
    const y1 = at(12);
    if (x1 > width || y1 > height || x1 <= x0 || y1 <= y0) return null;
    let sum = 0;
    for (let y = y0; y < y1; y++) {
      let p = (y * width + x0) * 4;
      for (let x = x0; x < x1; x++, p += 4) {
        sum += (77 * data[p] + 150 * data[p + 1] + 29 * data[p + 2]) >> 8;
      }
    }
    levels.push(sum / ((x1 - x0) * (y1 - y0)));
  }
  const white = levels[0];
  const black = levels[1];
  if (white - black < MARKER_MIN_CONTRAST) return null;
  const threshold = (white + black) / 2;
  const margin = (white - black) / 4;
  let sequence = 0;
  let check = 0;
  for (let i = 2; i < MARKER_BLOCKS; i++) {
    if (Math.abs(levels[i] - threshold) < margin) return null;
    const bit = levels[i] > threshold ? 1 : 0;
    if (i < 18) sequence = (sequence << 1) | bit;
    else check = (check << 1) | bit;
  }
  return check === markerCheckBits(sequence) ? sequence : null;
}

/**
 * Reads the marker of the frame a <video> element shows now. `canvas` is reused between calls
 * (pass the same one for speed). Returns the sequence number or null.
 */
export function readVideoMarker(video, canvas = document.createElement("canvas")) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  const scale = w / (h > w ? 704 : 1280);
  const stripW = Math.min(w, Math.ceil(MARKER_BLOCKS * MARKER_BLOCK_WIDTH * scale));
  const stripH = Math.min(h, Math.ceil(MARKER_BLOCK_HEIGHT * scale));
  if (canvas.width !== stripW) canvas.width = stripW;
  if (canvas.height !== stripH) canvas.height = stripH;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, stripW, stripH, 0, 0, stripW, stripH);
  return decodeMarker(ctx.getImageData(0, 0, stripW, stripH), scale);
}

/**
 * Calls `onFrame(metadata)` for every frame the video presents (requestVideoFrameCallback where
 * the browser has it, else every animation frame). Returns a function that stops it.
 */
export function watchFrames(video, onFrame) {
  let stopped = false;
  if (typeof video.requestVideoFrameCallback === "function") {
    let handle = 0;
    const tick = (now, metadata) => {
      if (stopped) return;
      onFrame({ now, ...metadata });
      handle = video.requestVideoFrameCallback(tick);
    };
    handle = video.requestVideoFrameCallback(tick);
    return () => {
      stopped = true;
      video.cancelVideoFrameCallback(handle);
    };
  }
  let handle = 0;
  const tick = (now) => {
    if (stopped) return;
    onFrame({ now });
    handle = requestAnimationFrame(tick);
  };
  handle = requestAnimationFrame(tick);
  return () => {
    stopped = true;
    cancelAnimationFrame(handle);
  };
}
