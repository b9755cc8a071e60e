// creditline console: keyboard shortcuts for the review queue. j/k move the selection, Enter
// opens the selected case, n opens the next case no one works. Nothing else runs here; every
// page works without this script.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row[data-href]"));
  if (rows.length === 0) { return; }
  var selected = -1;
  function select(index) {
    if (selected >= 0) { rows[selected].classList.remove("selected"); }
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows[selected].classList.add("selected");
    rows[selected].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { select(selected + 1); event.preventDefault(); }
    else if (event.key === "k") { select(selected - 1); event.preventDefault(); }
    else if (event.key === "Enter" && selected >= 0) { window.location = rows[selected].dataset.href; }
    else if (event.key === "n") { window.location = "/console/cases/next"; }
  });
}());
