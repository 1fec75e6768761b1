# Sourced by the setup scripts: `apt_install <tag> <package>` installs one Debian package
# non-interactively (with sudo when not root), updating the package lists once and retrying when the
# first attempt fails (a fresh machine may have none yet). Prints apt's log and exits 1 on failure.
apt_install() {
  local tag="$1" package="$2" sudo="" log
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: $package is missing and apt-get is not available; install it with your package manager" >&2
    exit 1
  fi
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log="$(mktemp)"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$package" >"$log" 2>&1; then
    $sudo apt-get update -q >>"$log" 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$package" >>"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "$tag: apt-get install $package failed" >&2
      exit 1
    fi
  fi
  rm -f "$log"
}
