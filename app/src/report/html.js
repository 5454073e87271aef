(function () {
  "use strict";
  var form = document.getElementById("filters");
  function apply() {
    var shown = {};
    form.querySelectorAll("input[name=status]").forEach(function (box) {
      shown[box.value] = box.checked;
    });
    var tag = form.querySelector("select[name=tag]").value;
    document.querySelectorAll("details.control").forEach(function (control) {
      var tags = control.getAttribute("data-tags").split("\n");
      var visible = shown[control.getAttribute("data-status")] === true;
      if (visible) {
        visible = tag === "" || tags.indexOf(tag) !== -1;
      }
      control.hidden = !visible;
    });
    document.querySelectorAll("section.group").forEach(function (group) {
      group.hidden = group.querySelector("details.control:not([hidden])") === null;
    });
  }
  form.addEventListener("change", apply);
  // Printing shows everything: every control, every detail.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.control, section.group").forEach(function (node) {
      if (node.hidden) {
        opened.push([node, "hidden"]);
        node.hidden = false;
      }
      if (node.tagName === "DETAILS") {
        if (!node.open) {
          opened.push([node, "open"]);
          node.open = true;
        }
      }
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (entry) {
      if (entry[1] === "open") {
        entry[0].open = false;
      } else {
        entry[0].hidden = true;
      }
    });
    opened = [];
  });
})();
