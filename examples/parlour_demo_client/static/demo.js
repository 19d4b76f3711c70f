// The organisation's own glue: start the Parlour widget and tell it how to get a token for the
// signed-in customer (from this site's backend, which holds the API key; the browser never does).
// A guest, not signed in, chats as an anonymous visitor: no getToken.
(() => {
  "use strict";
  const config = document.currentScript.dataset;
  const getToken = async () => {
    const response = await fetch("/api/chat-token", { method: "POST", credentials: "same-origin" });
    if (!response.ok) throw new Error("could not get a chat token");
    return (await response.json()).token;
  };
  const start = () => {
    const options = { server: config.parlourUrl, widgetId: config.widgetId, title: "Demo Bank help" };
    if (config.visitor !== "true") options.getToken = getToken;
    window.Parlour.init(options);
  };
  if (window.Parlour) start();
  else window.addEventListener("load", start, { once: true });
})();
