# Shared by scripts/lofo and scripts/ablation, which define $PY and $OUT before sourcing it.
#
#   train_all PARALLEL FUNCTION NAME...
#       FUNCTION NAME trains the model OUT/NAME, for every NAME without OUT/NAME/model.json
#       (so a rerun resumes): the first alone, since it fills the feature cache the others
#       read, then PARALLEL at a time.
#   eval_heldout MANIFEST TABLE PARALLEL MODEL_DIR...
#       Scores the models on the held-out evaluation manifest (val + xdomain + training
#       clips of TTS families, voiceguard/crossval.py) in PARALLEL processes of one thread
#       each and merges their scores into OUT/eval/scores.tsv; skipped when TABLE (the
#       caller's result file) is newer than every model.
train_all() {
    local parallel="$1" fn="$2" first=1 running=0 name
    shift 2
    for name in "$@"; do
        [ -f "$OUT/$name/model.json" ] && continue
        if [ "$first" = 1 ]; then "$fn" "$name"; first=0; continue; fi
        "$fn" "$name" &
        running=$((running + 1))
        if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
    done
    wait
}

eval_heldout() {
    local manifest="$1" table="$2" parallel="$3"; shift 3
    local models=("$@") n=${#models[@]} i
    if [ -f "$table" ] && [ -z "$(find "${models[@]}" -name model.json -newer "$table")" ]; then
        return 0  # no model changed since the last table
    fi
    mkdir -p "$OUT/eval"
    $PY -m voiceguard.crossval --eval-manifest "$manifest" "$OUT/eval/manifest.tsv" >&2
    for ((i = 0; i < parallel && i < n; i++)); do
        local args=() j
        for ((j = i; j < n; j += parallel)); do args+=(--model "${models[$j]}"); done
        ( $PY -m voiceguard evaluate "$OUT/eval/manifest.tsv" "${args[@]}" --out "$OUT/eval/part$i" \
            --split val,xdomain --threads 1 --no-progress > /dev/null || [ $? -eq 2 ] ) &
    done
    wait
    awk 'FNR > 1 || NR == 1' "$OUT"/eval/part*/scores.tsv > "$OUT/eval/scores.tsv"
}
