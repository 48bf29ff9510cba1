// fedcat's pages work without script; this file only adds copy buttons (citation, BibTeX) and the
// search box's suggestions (subjects, centers and titles from /api/v1/suggest, as text: never as markup).
// Served from this server (the pages' Content-Security-Policy allows no other script, and no inline code).
"use strict";
(function () {
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(target.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-done") || label;
        button.classList.add("done");
        setTimeout(function () { button.textContent = label; button.classList.remove("done"); }, 2000);
      }, function () {
        var range = document.createRange();  // the browser refused: select the text for the reader to copy
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    });
  });

  var box = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  if (box && list && window.fetch) {
    var timer = null;
    var asked = "";
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = box.value.trim();
        if (!q || q === asked || q.length > 100) { return; }
        asked = q;
        fetch("/api/v1/suggest?size=8&q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
          .then(function (resp) { return resp.ok ? resp.json() : null; })
          .then(function (body) {
            if (!body || box.value.trim() !== q) { return; }  // typed on meanwhile: a newer answer comes
            while (list.firstChild) { list.removeChild(list.firstChild); }
            body.suggestions.forEach(function (s) {
              var option = document.createElement("option");
              option.value = s.text;
              list.appendChild(option);
            });
          })
          .catch(function () { /* no suggestions: the search works as before */ });
      }, 150);
    });
  }
})();
