// The official SDK's setDebug(enabled): when on, the client logs its status changes and the
// signaling messages it gets to console.debug. Off by default; one switch for the page.
let enabled = false;

/** @param {boolean} on */
export function setDebug(on) {
  enabled = on === true;
}

export function debugLog(...args) {
  if (enabled) console.debug("[ithaca]", ...args);
}
