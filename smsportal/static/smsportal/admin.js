// Copy buttons next to webhook URLs and one-time secrets (no inline script: CSP-friendly).
document.addEventListener("click", function (event) {
  var button = event.target.closest(".smsportal-copy-button");
  if (!button) return;
  var value = button.getAttribute("data-copy");
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(value).then(done);
  } else {
    var area = document.createElement("textarea");
    area.value = value;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
});
