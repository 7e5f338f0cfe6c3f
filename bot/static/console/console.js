// The console's few live parts, in plain JavaScript: the campaign editor's segment count and message preview.
// A form marked data-live="URL" posts itself (with its CSRF token) to URL when it changes, and puts the answer's
// HTML into the element data-target names.
(function () {
  function live(form) {
    var url = form.getAttribute("data-live");
    var target = document.querySelector(form.getAttribute("data-target"));
    var timer = null, seq = 0;
    function refresh() {
      var mine = ++seq;
      target.setAttribute("aria-busy", "true");
      fetch(url, {method: "POST", body: new FormData(form), credentials: "same-origin",
                  headers: {"X-CSRF-Token": form.elements.csrf.value}})
        .then(function (answer) { return answer.text(); })
        .then(function (html) {
          if (mine !== seq) return;              // a later change is on its way
          target.innerHTML = html;
          target.removeAttribute("aria-busy");
        });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
    refresh();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-live]").forEach(live);
  });
})();
