# Shared by scripts/lofo and scripts/ablation: score models on the held-out evaluation
# manifest (val + xdomain + training clips of TTS families, voiceguard/crossval.py), in
# parallel processes of one thread each, and merge their scores into OUT/eval/scores.tsv.
#
#   eval_heldout MANIFEST OUT PARALLEL MODEL_DIR...
eval_heldout() {
    local manifest="$1" out="$2" parallel="$3"; shift 3
    local models=("$@") n=${#models[@]} i
    mkdir -p "$out/eval"
    $PY -m voiceguard.crossval --eval-manifest "$manifest" "$out/eval/manifest.tsv" >&2
    for ((i = 0; i < parallel && i < n; i++)); do
        local args=() j
        for ((j = i; j < n; j += parallel)); do args+=(--model "${models[$j]}"); done
        ( $PY -m voiceguard evaluate "$out/eval/manifest.tsv" "${args[@]}" --out "$out/eval/part$i" \
            --split val,xdomain --threads 1 --no-progress > /dev/null || [ $? -eq 2 ] ) &
    done
    wait
    awk 'FNR > 1 || NR == 1' "$out"/eval/part*/scores.tsv > "$out/eval/scores.tsv"
}
