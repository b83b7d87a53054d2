// Driving the examples' shared page (examples/express-vanilla/public), whichever backend serves
// it: open it, read what it shows (status, error code, event log), wait for a state.

/** A new page of `browser` at `url`, collecting console lines for failure messages. */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return page;
}

/** What the page shows: status, error code and text, the event log. */
export function shown(page) {
  return page.evaluate(() => ({
    status: document.getElementById("status").dataset.status,
    errorCode: document.getElementById("error").dataset.code ?? null,
    error: document.getElementById("error").textContent,
    log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
  }));
}

/** Polls shown(page) until `predicate` holds; fails naming `what` with the page's state. */
export async function waitShown(page, what, predicate, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await shown(page);
    if (predicate(s)) return s;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}: ${JSON.stringify(s)}\n${page.consoleLines.join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
