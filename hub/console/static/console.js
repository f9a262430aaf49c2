// The console's only script. Every page works without it; it adds two conveniences:
//  - a form with data-confirm="question" asks before it is sent;
//  - an element with data-poll="/api/v1/..." shows a long job's progress: it fetches the JSON
//    every second and fills [data-field=name] children with its fields, sets a <progress> from
//    `done`/`total`, and stops when `finished` is true (then reloads if data-reload is set), or
//    after ten minutes. Its requests say `X-Poll: 1`, so they do not keep an idle session alive.
(function () {
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  function poll(element) {
    var url = element.getAttribute("data-poll");
    var left = Number(element.getAttribute("data-polls-left") || "600");
    if (left <= 0) { return; }  // ten minutes at most: a page left open does not poll for ever
    element.setAttribute("data-polls-left", String(left - 1));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Poll": "1" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        element.querySelectorAll("[data-field]").forEach(function (field) {
          var value = state[field.getAttribute("data-field")];
          if (value !== undefined && value !== null) { field.textContent = String(value); }
        });
        var bar = element.querySelector("progress");
        if (bar && state.total) { bar.max = state.total; bar.value = state.done || 0; }
        if (state.finished) {
          element.setAttribute("data-finished", "true");
          if (element.hasAttribute("data-reload")) { window.location.reload(); }
        } else {
          window.setTimeout(function () { poll(element); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(element); }, 2000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
