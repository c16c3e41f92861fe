// Cycle plan form: a tactic's answer rate is measured on a tactic, not on a stage or against
// another team, so choosing it shows the tactic select and hides the stage and the comparison
// team (and the other way round). A hidden select is disabled, so it is not sent. Without
// JavaScript every field shows and the server says which ones do not apply.
(function () {
  var metric = document.getElementById("id_metric");
  if (!metric) return;
  var tactic = document.getElementById("field-tactic");
  var others = [document.getElementById("field-stage"), document.getElementById("field-comparison_team")];
  function toggle(field, on) {
    if (!field) return;
    field.hidden = !on;
    field.querySelectorAll("select, input").forEach(function (input) { input.disabled = !on; });
  }
  function show() {
    var answerRate = metric.value === "response_rate";
    toggle(tactic, answerRate);
    others.forEach(function (field) { toggle(field, !answerRate); });
  }
  metric.addEventListener("change", show);
  show();
})();
