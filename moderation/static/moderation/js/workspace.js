// The moderators' workspace (admin/moderation/workspace.html), by keyboard. The page works
// without this file: every decision is a plain form. This adds j/k to move between cases
// (claiming the one moved to), a key per decision, x to reveal a blurred image, u to undo,
// ? for the help, the Undo's deadline, and the live counter of new cases.
(function () {
  "use strict";

  var root = document.getElementById("ws");
  if (!root) {
    return;
  }
  var cards = Array.prototype.slice.call(root.querySelectorAll(".ws-card"));
  var help = document.getElementById("ws-help");
  var helpButton = document.getElementById("ws-help-button");
  var current = null;

  var DECISION_KEYS = { c: "confirm", r: "restore", d: "dismiss", p: "protect" };

  function caseUrl(template, caseId) {
    return template.replace("/0/", "/" + caseId + "/");
  }

  function markClaimed(card, text) {
    card.classList.add("ws-claimed");
    var note = card.querySelector(".ws-claim");
    if (!note) {
      note = document.createElement("p");
      note.className = "ws-claim";
      note.setAttribute("role", "status");
      card.querySelector(".ws-body").insertBefore(note, card.querySelector(".ws-score"));
    }
    note.textContent = text;
  }

  // Claim the case the moderator moved to, so that others skip it.
  function claim(card) {
    var body = new FormData();
    fetch(caseUrl(root.dataset.claimUrl, card.dataset.caseId), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": root.dataset.csrfToken, Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 409) {
          return response.json().then(function (data) {
            markClaimed(card, data.detail);
          });
        }
        return null;
      })
      .catch(function () {
        // A lost claim only means another moderator might open the case too: the
        // decision itself is still checked on the server.
      });
  }

  function select(card, options) {
    if (!card) {
      return;
    }
    if (current) {
      current.classList.remove("ws-current");
      current.removeAttribute("aria-current");
    }
    current = card;
    card.classList.add("ws-current");
    card.setAttribute("aria-current", "true");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
    if (!(options && options.noClaim) && !card.classList.contains("ws-claimed")) {
      claim(card);
    }
  }

  // The next (step 1) or previous (step -1) case nobody else examines.
  function move(step) {
    var index = cards.indexOf(current);
    for (var i = index + step; i >= 0 && i < cards.length; i += step) {
      if (!cards[i].classList.contains("ws-claimed")) {
        select(cards[i]);
        return;
      }
    }
  }

  function submit(form) {
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function decide(decision) {
    if (!current) {
      return;
    }
    var form = current.querySelector('form[data-decision="' + decision + '"]');
    if (form) {
      submit(form);
    }
  }

  function openNote() {
    var details = current && current.querySelector(".ws-note");
    if (!details) {
      return;
    }
    details.open = true;
    details.querySelector(".ws-note-input").focus();
  }

  function reveal() {
    var box = current && current.querySelector(".ws-reveal");
    if (box) {
      box.checked = !box.checked;
    }
  }

  function undo() {
    var form = document.getElementById("ws-undo");
    if (form && !form.hidden) {
      submit(form);
    }
  }

  function showHelp() {
    if (help && !help.open) {
      help.showModal();
    }
  }

  function typing(target) {
    var tag = target && target.tagName;
    return (
      tag === "INPUT" ||
      tag === "TEXTAREA" ||
      tag === "SELECT" ||
      (target && target.isContentEditable)
    );
  }

  document.addEventListener("keydown", function (event) {
    if (event.target && event.target.classList && event.target.classList.contains("ws-note-input")) {
      if (event.key === "Escape") {
        var details = event.target.closest(".ws-note");
        event.target.value = "";
        details.open = false;
        select(details.closest(".ws-card"), { noClaim: true });
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (help && help.open) {
      return;
    }
    var key = event.key;
    if (key === "j") {
      move(1);
    } else if (key === "k") {
      move(-1);
    } else if (DECISION_KEYS[key]) {
      decide(DECISION_KEYS[key]);
    } else if (key === "n") {
      openNote();
    } else if (key === "x") {
      reveal();
    } else if (key === "u") {
      undo();
    } else if (key === "?") {
      showHelp();
    } else {
      return;
    }
    event.preventDefault();
  });

  // A click on a card makes it the current one (and claims it).
  cards.forEach(function (card) {
    card.addEventListener("click", function (event) {
      if (current !== card && !event.target.closest("a, button, summary, input, label")) {
        select(card);
      }
    });
  });

  if (helpButton) {
    helpButton.hidden = false;
    helpButton.addEventListener("click", showHelp);
  }

  // The Undo goes when the server would refuse it.
  var undoForm = document.getElementById("ws-undo");
  if (undoForm) {
    window.setTimeout(function () {
      undoForm.hidden = true;
    }, Number(undoForm.dataset.millisecondsLeft) || 0);
  }

  // The live counter: new cases since the page was rendered.
  var live = document.getElementById("ws-live");
  var textsNode = document.getElementById("ws-live-texts");
  var texts = textsNode ? JSON.parse(textsNode.textContent) : {};
  var latest = Number(root.dataset.latestCaseId) || 0;
  var allCount = Number(root.dataset.allCount) || 0;

  function newCasesText(count) {
    var size = Object.keys(texts).length;
    // Past the texts rendered, the one with the same last two digits has the same form.
    var key = count < size ? count : 100 + (count % 100);
    return (texts[String(key)] || String(count)).replace(String(key), String(count));
  }

  function poll() {
    fetch(root.dataset.summaryUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || !data.latest_case_id || data.latest_case_id <= latest) {
          return;
        }
        var count = Math.max(1, data.tabs.all - allCount);
        var link = live.querySelector("a");
        link.textContent = newCasesText(count);
        link.href = window.location.href;
        live.hidden = false;
      })
      .catch(function () {
        // Offline for a moment: the next poll tries again.
      });
  }

  if (live && root.dataset.summaryUrl) {
    live.querySelector("a").addEventListener("click", function (event) {
      event.preventDefault();
      window.location.reload();
    });
    window.setInterval(poll, (Number(root.dataset.pollSeconds) || 10) * 1000);
  }

  // Keep the case shown claimed while the moderator stays on it; let it go when they
  // leave the page, so that others need not wait for the claim to run out. (A decision
  // ends the claim on the server anyway; the next page claims the next case.)
  window.setInterval(function () {
    if (current && !current.classList.contains("ws-claimed") && !document.hidden) {
      claim(current);
    }
  }, (Number(root.dataset.claimRenewSeconds) || 100) * 1000);
  window.addEventListener("pagehide", function () {
    if (current && !current.classList.contains("ws-claimed") && navigator.sendBeacon) {
      var body = new FormData();
      body.append("csrfmiddlewaretoken", root.dataset.csrfToken);
      navigator.sendBeacon(caseUrl(root.dataset.releaseUrl, current.dataset.caseId), body);
    }
  });

  var first = root.querySelector(".ws-card.ws-current") || cards[0];
  if (first) {
    select(first, { noClaim: first.classList.contains("ws-claimed") });
  }
})();
