// The member import's pages: the upload is posted with its CSRF token in a header (so the file streams to the
// server as it is sent), and a running import's page follows its progress until it ends.
(function () {
  function upload(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      button.textContent = "上传中… Uploading…";
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"X-CSRF-Token": form.elements.csrf.value}})
        .then(function (answer) {
          if (answer.redirected) { window.location = answer.url; return null; }
          return answer.text();
        })
        .then(function (html) {
          if (html === null) return;
          document.open(); document.write(html); document.close();
        });
    });
  }
  function follow(job) {
    var url = job.getAttribute("data-progress");
    function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (answer) { return answer.json(); })
        .then(function (state) {
          document.getElementById("import-rows").textContent = state.rows.toLocaleString("en-US");
          document.getElementById("import-status").textContent = state.status;
          if (state.status === "running") setTimeout(poll, 1000); else window.location.reload();
        });
    }
    setTimeout(poll, 500);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("import-form");
    if (form) upload(form);
    var job = document.getElementById("import-job");
    if (job && job.getAttribute("data-status") === "running") follow(job);
  });
})();
