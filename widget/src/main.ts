/**
 * Parlour chat widget, protocol v1 (docs/protocol.md), built on the SDK (sdk/js).
 *
 * Embedded on an organisation's page with one script tag, then started with
 *   Parlour.init({ server, widgetId, getToken, title })
 * where getToken() asks the organisation's own backend for a short-lived end-user token.
 * Without getToken the widget chats as an anonymous visitor, where the organisation allows it;
 * the visitor's single-use return token is kept in sessionStorage (this tab only), so a reload
 * finds the same conversation. Before it draws its launcher the widget fetches the
 * organisation's config, GET {server}/widget/v1/config/{widgetId} (colour, logo, title,
 * greeting, side, hours message, features, language); without one it uses its defaults. An
 * explicit `title` option wins over the config's.
 *
 * The dashboard's live preview:
 *   const p = Parlour.preview(hostElement, config)   // draws inside hostElement, no socket, no fetch
 *   p.update(config)                                 // draws again with a changed config
 *   p.destroy()
 * where config has the shape of the config endpoint's answer (missing fields take defaults).
 *
 * Safety rules the widget keeps: every text from the network or the config is rendered with
 * textContent or text nodes, never as HTML (dom.ts); a customer's token lives only in memory
 * and only travels inside the socket's first frame (and reauth); everything the widget draws
 * lives in a shadow root, so the host page's styles do not leak in; citation links are https
 * only, opened with rel="noopener noreferrer"; a logo is https or on Parlour's own server,
 * with alt="". No message from another window is sent or listened to (T-93).
 */

import { LiveWidget, type InitOptions } from "./chat.js";
import { fetchConfig } from "./config.js";
import { languageFor } from "./language.js";
import { preview } from "./preview.js";
import { Strings } from "./strings.js";

declare global {
  interface Window {
    Parlour?: unknown;
  }
}

function check(options: InitOptions): void {
  if (!options || typeof options.server !== "string" || typeof options.widgetId !== "string") {
    throw new Error("Parlour.init needs server and widgetId (and getToken for customers)");
  }
  new URL(options.server); // throws on a malformed server address
}

/** Starts the widget: fetches the organisation's config, then draws the launcher. */
async function init(options: InitOptions): Promise<LiveWidget> {
  check(options);
  const config = await fetchConfig(options.server, options.widgetId);
  const strings = new Strings(languageFor(config.language));
  return new LiveWidget(options, strings, config);
}

if (window.Parlour === undefined) {
  window.Parlour = Object.freeze({
    version: "1",
    init(options: InitOptions): Promise<LiveWidget> {
      check(options);
      return init(options);
    },
    preview,
  });
}
