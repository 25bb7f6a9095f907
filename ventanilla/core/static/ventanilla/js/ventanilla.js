/*!
 * Ventanilla — progressive enhancement only (no framework, no build step).
 *
 * Every page must work without this file: forms keep their submit button,
 * links are real links. Nothing here is required.
 *
 * Strict-CSP friendly: loaded as an external file, no eval, no inline
 * styles or handlers.
 *
 * Features:
 *  - Auto-submit: in a <form data-autosubmit>, changing a <select>, a
 *    checkbox or a radio submits the form (e.g. the facet sidebar). The
 *    submit button stays in the page for users without JS and for anyone
 *    who prefers to choose several filters before applying them.
 *  - Print: a link or button with [data-print] opens the print dialog (the
 *    procedure page prints as a "carta de servicio").
 *  - Conditional questions: a block with data-show-if-field="<input name>"
 *    and data-show-if-values='["a","b"]' is hidden (the HTML hidden
 *    attribute) while that input's value is not one of the values. Without
 *    JS every question is shown with a hint saying when to answer it; the
 *    server ignores answers to questions that do not apply.
 */
(function () {
  "use strict";

  var AUTOSUBMIT_FIELDS = 'select, input[type="checkbox"], input[type="radio"]';

  function submitForm(form) {
    if (typeof form.requestSubmit === "function") {
      // Fires the "submit" event and runs validation (htmx and others can
      // intercept it), like a click on the submit button.
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function onChange(event) {
    var field = event.target;
    if (!field || !field.form || typeof field.matches !== "function") {
      return;
    }
    if (!field.form.hasAttribute("data-autosubmit") || !field.matches(AUTOSUBMIT_FIELDS)) {
      return;
    }
    submitForm(field.form);
  }

  // Delegated on the document, so it also covers content swapped in later.
  document.addEventListener("change", onChange);

  document.addEventListener("click", function (event) {
    var trigger = event.target && event.target.closest ? event.target.closest("[data-print]") : null;
    if (trigger) {
      event.preventDefault();
      window.print();
    }
  });

  function currentValues(form, name) {
    var values = [];
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) {
        continue;
      }
      values.push(input.value);
    }
    return values;
  }

  function applyConditions(root) {
    var blocks = (root || document).querySelectorAll("[data-show-if-field]");
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      var form = block.closest("form");
      if (!form) {
        continue;
      }
      var wanted;
      try {
        wanted = JSON.parse(block.getAttribute("data-show-if-values") || "[]");
      } catch (e) {
        continue;
      }
      var values = currentValues(form, block.getAttribute("data-show-if-field"));
      var shown = values.some(function (v) { return wanted.indexOf(v) !== -1; });
      block.hidden = !shown;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.form && event.target.form.querySelector("[data-show-if-field]")) {
      applyConditions(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { applyConditions(document); });
})();
