// Renders /v2/openapi.yaml with the vendored Redoc. It lives in its own file
// because the page's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  // System fonts: Redoc's defaults (Roboto, Montserrat) would have to be
  // fetched from a font host, which the page never does.
  var sans = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
  var mono = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace";
  Redoc.init("/v2/openapi.yaml", {
    expandResponses: "200",
    theme: {
      typography: {
        fontFamily: sans,
        headings: { fontFamily: sans },
        code: { fontFamily: mono }
      }
    }
  }, document.getElementById("redoc"));
})();
