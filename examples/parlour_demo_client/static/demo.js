// The organisation's own glue: start the Parlour widget and tell it how to get a token for the
// signed-in customer (from this site's backend, which holds the API key; the browser never does).
(() => {
  "use strict";
  const config = document.currentScript.dataset;
  const start = () => {
    window.Parlour.init({
      server: config.parlourUrl,
      widgetId: config.widgetId,
      title: "Demo Bank help",
      getToken: async () => {
        const response = await fetch("/api/chat-token", { method: "POST", credentials: "same-origin" });
        if (!response.ok) throw new Error("could not get a chat token");
        return (await response.json()).token;
      },
    });
  };
  if (window.Parlour) start();
  else window.addEventListener("load", start, { once: true });
})();
