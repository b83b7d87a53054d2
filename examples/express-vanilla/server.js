// The full example's server: mints Ithaca client credentials with the API key (which never
// leaves this process) and serves the page, plus the SDK's browser files unbundled at /sdk/.
//
//   ITHACA_API_KEY=... ITHACA_API_URL=http://127.0.0.1:8080 npm start   # then open :3000
//
// createApp() is exported so tests can run the app in-process (tests/e2e/example.test.mjs).
import path from "node:path";
import { fileURLToPath } from "node:url";

import express from "express";
import { IthacaError, createClientCredentials, credentialsToDict } from "@ithaca/sdk/server";

const here = path.dirname(fileURLToPath(import.meta.url));
// The SDK's src/ folder (index.js, client.js, ...): the page imports /sdk/index.js.
const sdkDir = path.dirname(fileURLToPath(import.meta.resolve("@ithaca/sdk")));

/** The HTTP status for an SDK error: its own when the API gave one, else one by class. */
function statusFor(error) {
  if (error.code === "CONCURRENT_LIMIT_REACHED" || error.code === "RATE_LIMITED") return 429;
  if (Number.isInteger(error.status) && error.status >= 400) return error.status;
  if (error.name === "AuthError") return 401;
  if (error.name === "UsageError" || error.name.endsWith("LimitReachedError")) return 429;
  return 502; // the API could not be reached or failed
}

/**
 * The Express app. apiKey and apiUrl default to ITHACA_API_KEY and ITHACA_API_URL (read by the
 * SDK at each mint).
 * @param {{apiKey?: string, apiUrl?: string}} [options]
 */
export function createApp({ apiKey, apiUrl } = {}) {
  const app = express();
  app.use(express.json());

  app.post("/api/credentials", async (req, res) => {
    try {
      // Attach whatever your app knows about the user; the session carries it.
      const creds = await createClientCredentials({
        apiKey,
        apiUrl,
        metadata: { app: "express-vanilla" },
      });
      res.json(credentialsToDict(creds));
    } catch (error) {
      if (!(error instanceof IthacaError)) {
        console.error("credentials:", error);
        return res.status(500).json({ code: "internal", message: String(error?.message ?? error) });
      }
      res.status(statusFor(error)).json({
        code: error.code,
        message: error.message,
        retryable: error.retryable,
      });
    }
  });

  // The SDK's browser modules (no bundler: the page imports /sdk/index.js as is).
  app.use("/sdk", (req, res, next) => (req.path.endsWith(".js") ? next() : res.sendStatus(404)));
  app.use("/sdk", express.static(sdkDir, { index: false }));
  app.use(express.static(path.join(here, "public")));
  return app;
}

// Run directly (npm start): listen on PORT (default 3000).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  createApp().listen(port, () => {
    console.log(`example on http://localhost:${port} (Ithaca at ${process.env.ITHACA_API_URL})`);
  });
}
