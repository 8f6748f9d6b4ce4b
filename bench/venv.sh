# Sourced by bench/run.sh and bench/mutation.sh: `bench_venv VENV REQUIREMENTS` makes (or
# reuses) the venv VENV with radium-otel (editable) and REQUIREMENTS in it, so that their pins
# never touch the dev venv. Re-runs skip the install while pyproject.toml and REQUIREMENTS
# are unchanged (as scripts/bootstrap.sh does).
bench_venv() {
    local venv="$1" requirements="$2"
    if [ ! -x "$venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    local stamp="$venv/.radium-installed"
    local want
    want="$(cat pyproject.toml "$requirements" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -e . -r "$requirements"
        echo "$want" > "$stamp"
    fi
}
