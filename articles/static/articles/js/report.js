/* Report control: progressive enhancement of the plain links and forms.
 *
 * Without this script (or without <dialog>), "Signaler cette image" is a link
 * to /images/<id>/report/ and the form posts there. With it, the link opens
 * the dialog, and the form is sent to the JSON API without a page load.
 * Every text shown comes from the server: the API's `detail` and errors.
 */
(function () {
  "use strict";

  if (typeof window.HTMLDialogElement !== "function" || !("showModal" in HTMLDialogElement.prototype)) {
    return;
  }

  function figureOf(element) {
    return element.closest("figure[data-image-id]");
  }

  function showThanks(figure, text) {
    var thanks = figure.querySelector(".report-thanks");
    if (!thanks) {
      thanks = document.createElement("p");
      thanks.className = "report-thanks";
      thanks.setAttribute("role", "status");
      thanks.tabIndex = -1;
      figure.insertBefore(thanks, figure.querySelector(".report-dialog"));
    }
    thanks.textContent = text;
    return thanks;
  }

  function showErrors(form, data) {
    var box = form.querySelector(".report-errors");
    var list = document.createElement("ul");
    Object.keys(data || {}).forEach(function (key) {
      var messages = Array.isArray(data[key]) ? data[key] : [data[key]];
      messages.forEach(function (message) {
        if (typeof message === "string") {
          var item = document.createElement("li");
          item.textContent = message;
          list.appendChild(item);
        }
      });
    });
    box.replaceChildren(list);
  }

  function clearErrors(form) {
    form.querySelector(".report-errors").replaceChildren();
  }

  function setBusy(form, busy) {
    var submit = form.querySelector(".report-submit");
    submit.disabled = busy;
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function send(form) {
    var data = new FormData(form);
    return fetch(form.dataset.reportApi, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": data.get("csrfmiddlewaretoken") || "",
        // The API answers in the page's language, whatever the browser asks for.
        "Accept-Language": document.documentElement.lang
      },
      body: JSON.stringify({ reason: data.get("reason") || "", comment: data.get("comment") || "" })
    }).then(function (response) {
      return response.json().then(
        function (body) { return { status: response.status, body: body }; },
        function () { return { status: response.status, body: null }; }
      );
    });
  }

  function enhance(button) {
    var dialog = document.getElementById(button.getAttribute("aria-controls"));
    var figure = figureOf(button);
    if (!dialog || !figure) {
      return;
    }
    var form = dialog.querySelector("form.report-form");
    var cancel = dialog.querySelector(".report-cancel");
    // Where focus goes when the dialog closes: the button, or the thanks.
    var returnFocusTo = button;

    button.setAttribute("aria-expanded", "false");

    button.addEventListener("click", function (event) {
      event.preventDefault();
      clearErrors(form);
      returnFocusTo = button;
      dialog.showModal();
      button.setAttribute("aria-expanded", "true");
      var first = form.querySelector('input[name="reason"]:checked') ||
        form.querySelector('input[name="reason"]');
      if (first) {
        first.focus();
      }
    });

    // A link with role="button" must also answer the space bar.
    button.addEventListener("keydown", function (event) {
      if (event.key === " ") {
        event.preventDefault();
        button.click();
      }
    });

    cancel.addEventListener("click", function () {
      dialog.close();
    });

    // A click on the backdrop (the dialog box itself, outside its content) closes it.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        var box = dialog.getBoundingClientRect();
        var inside = event.clientX >= box.left && event.clientX <= box.right &&
          event.clientY >= box.top && event.clientY <= box.bottom;
        if (!inside) {
          dialog.close();
        }
      }
    });

    // Escape, cancel, backdrop or success all end here.
    dialog.addEventListener("close", function () {
      button.setAttribute("aria-expanded", "false");
      setBusy(form, false);
      returnFocusTo.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      setBusy(form, true);
      send(form).then(function (answer) {
        if ((answer.status === 200 || answer.status === 201) && answer.body && answer.body.detail) {
          returnFocusTo = showThanks(figure, answer.body.detail);
          form.reset();
          dialog.close();
        } else if (answer.body && (answer.status === 400 || typeof answer.body.detail === "string")) {
          setBusy(form, false);
          showErrors(form, answer.body);
        } else {
          // Anything unexpected: let the server-rendered path handle it.
          form.submit();
        }
      }, function () {
        // Network failure: the plain form post still works.
        form.submit();
      });
    });
  }

  document.querySelectorAll("a.report-button[aria-controls]").forEach(enhance);

  // After the no-JavaScript redirect (?reported=<id>#image-<id>), read the thanks
  // out. Wait for the load: scrolling to the #fragment would take focus back.
  var thanks = document.querySelector(".report-thanks");
  if (thanks) {
    window.addEventListener("load", function () {
      window.setTimeout(function () { thanks.focus(); }, 0);
    });
  }
})();
