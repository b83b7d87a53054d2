// What only the hosted Odyssey service does: stream recordings and offline simulations. Ithaca
// has neither, so the official client's methods for them reject with a RequestError
// `not_supported` instead of being missing (a TypeError deep in an app).
import { RequestError } from "./errors.js";

/** @param {string} what the official method's name */
export function hostedOnly(what) {
  return Promise.reject(
    new RequestError(`${what} is a hosted Odyssey feature; Ithaca does not provide it`, {
      code: "not_supported",
    }),
  );
}
