// Live check of a rule's filter: posts the filter to the console's
// validate endpoint while the user types and shows the parse error (with
// its position) under the field. Without JavaScript the form is still
// validated by the server on submit.
(function () {
  "use strict";
  var area = document.querySelector("textarea[data-validate-url]");
  if (!area || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var out = document.getElementById("filter-live");
  var form = area.form;
  var csrf = form ? form.querySelector("input[name=csrf]") : null;
  var type = form ? form.querySelector("select[name=type]") : null;
  var timer = null;
  var seq = 0;

  function show(res) {
    if (res.ok) {
      out.textContent = "The filter is valid.";
      out.className = "field-live ok";
      area.removeAttribute("aria-invalid");
      return;
    }
    out.textContent = res.error + (res.position ? " (position " + res.position + ")" : "");
    out.className = "field-live error";
    area.setAttribute("aria-invalid", "true");
  }

  function check() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("filter", area.value);
    if (type) {
      body.set("type", type.value);
    }
    if (csrf) {
      body.set("csrf", csrf.value);
    }
    fetch(area.getAttribute("data-validate-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: body
    }).then(function (resp) {
      if (!resp.ok) {
        throw new Error("status " + resp.status);
      }
      return resp.json();
    }).then(function (res) {
      if (mine === seq) {
        show(res);
      }
    }).catch(function () {
      if (mine === seq) {
        out.textContent = "";
        out.className = "field-live";
      }
    });
  }

  function schedule() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(check, 300);
  }

  area.addEventListener("input", schedule);
  if (type) {
    type.addEventListener("change", schedule);
  }
})();
