# bash completion for mosaic, mosaic-ctl and mosaic-backup.  Everything it offers comes
# from the installed programs, so it matches the plugins of this host: plugin names
# (mosaic --list-plugins), section kinds, type names and keys (mosaic --describe), control
# commands and their arguments (mosaic --list-commands --json).

_mosaic_bin()
{
    # The mosaic next to the completed program when it was given with a path.
    local dir=${1%/*}
    if [[ $1 == */* && -x $dir/mosaic ]]; then
        printf '%s\n' "$dir/mosaic"
    else
        printf '%s\n' mosaic
    fi
}

_mosaic_plugins()
{
    "$1" --list-plugins 2>/dev/null | awk 'NR > 1 { print $1; print $2 "-" $1 }'
}

_mosaic_describable()
{
    "$1" --describe all 2>/dev/null | sed -n \
        -e 's/^\[\([A-Za-z0-9_-]*\)[] ].*: section kind.*/\1/p' \
        -e 's/^\([A-Za-z0-9_-]*\): [a-z-]* plugin, version.*/\1/p'
}

_mosaic_section_kinds()
{
    "$1" --describe all 2>/dev/null | sed -n 's/^\[\([A-Za-z0-9_-]*\)\([] ]\).*: section kind.*/\1\2/p'
}

_mosaic_keys()
{
    # Keys of a section kind, and of the types a machine file selects in it.
    "$1" --describe "$2" 2>/dev/null | sed -n 's/^  \([A-Za-z0-9_-]*\) = .*/\1/p'
}

_mosaic_labels()
{
    # Labels of [KIND LABEL] sections in the machine file $2.
    [[ -r $2 ]] && sed -n "s/^[[:space:]]*\[$3[[:space:]]\+\([A-Za-z0-9_-]*\)\].*/\1/p" "$2"
}

_mosaic_type_of()
{
    # The type a [KIND LABEL] section of machine file $2 selects (type = / driver =).
    [[ -r $2 ]] && awk -v want="$3" '
        /^[[:space:]]*\[/ { gsub(/[][]/, ""); cur = $1 " " $2; sub(/ $/, "", cur); next }
        cur == want && $1 ~ /^(type|driver)$/ && $2 == "=" { print $3; exit }' "$2"
}

_mosaic()
{
    local cur prev words cword
    _init_completion -n =: || return
    local bin
    bin=$(_mosaic_bin "${words[0]}")

    if [[ ${words[1]} == plugins ]]; then
        if ((cword == 2)); then
            COMPREPLY=($(compgen -W 'enable disable list' -- "$cur"))
        elif ((cword == 3)) && [[ ${words[2]} == @(enable|disable) ]]; then
            COMPREPLY=($(compgen -W "$(_mosaic_plugins "$bin")" -- "$cur"))
        fi
        return
    fi

    local ini="" w
    for w in "${words[@]:1}"; do
        [[ $w == *.ini ]] && ini=$w
    done

    case $prev in
        --enable-plugin | --disable-plugin)
            COMPREPLY=($(compgen -W "$(_mosaic_plugins "$bin")" -- "$cur"))
            return ;;
        --describe)
            COMPREPLY=($(compgen -W "all $(_mosaic_describable "$bin")" -- "$cur"))
            return ;;
        --plugin-path)
            _filedir -d
            return ;;
        --dump-config)
            _filedir ini
            return ;;
        --pidfile | --logfile)
            _filedir
            return ;;
        --log | --qmp)
            return ;;
        --set)
            local kinds kind rest
            kinds=$(_mosaic_section_kinds "$bin")
            if [[ $cur != *.* ]]; then
                # "machine]" is a singleton: kind.key; "device " takes a label.
                COMPREPLY=($(compgen -S . -W "$(tr -d '] ' <<<"$kinds")" -- "$cur"))
                compopt -o nospace
                return
            fi
            kind=${cur%%.*}
            rest=${cur#*.}
            if grep -qx "$kind]" <<<"$kinds"; then
                COMPREPLY=($(compgen -P "$kind." -S = -W "$(_mosaic_keys "$bin" "$kind")" -- "$rest"))
            elif [[ $rest != *.* ]]; then
                COMPREPLY=($(compgen -P "$kind." -S . -W "$(_mosaic_labels "$bin" "$ini" "$kind")" -- "$rest"))
            else
                local label=${rest%%.*} type
                type=$(_mosaic_type_of "$bin" "$ini" "$kind $label")
                COMPREPLY=($(compgen -P "$kind.$label." -S = \
                    -W "$(_mosaic_keys "$bin" "$kind") ${type:+$(_mosaic_keys "$bin" "$type")}" \
                    -- "${rest#*.}"))
            fi
            compopt -o nospace
            return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$bin" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    _filedir ini
    ((cword == 1)) && COMPREPLY+=($(compgen -W plugins -- "$cur"))
}
complete -F _mosaic mosaic

_mosaic_ctl_commands()
{
    "$1" --list-commands --json 2>/dev/null | sed -n 's/^    "name" : "\(.*\)",$/\1/p'
}

_mosaic_ctl_args()
{
    # Argument names of one command.
    "$1" --list-commands --json 2>/dev/null | awk -v want="$2" '
        /^    "name" : / { gsub(/[",]/, "", $3); cmd = $3 }
        cmd == want && /^        "name" : / { gsub(/[",]/, "", $3); print $3 }'
}

_mosaic_ctl()
{
    local cur prev words cword
    _init_completion -n =: || return
    local bin
    bin=$(_mosaic_bin "${words[0]}")
    if [[ $prev == --timeout ]]; then
        return
    fi
    # Positional words: SOCKET COMMAND [ARGS]
    local i pos=() cmd
    for ((i = 1; i < cword; i++)); do
        [[ ${words[i]} == --timeout ]] && { ((i++)); continue; }
        [[ ${words[i]} == -* ]] || pos+=("${words[i]}")
    done
    if [[ $cur == -* && ${#pos[@]} -lt 2 ]]; then
        COMPREPLY=($(compgen -W '--json --timeout --help' -- "$cur"))
    elif ((${#pos[@]} == 0)); then
        _filedir
    elif ((${#pos[@]} == 1)); then
        COMPREPLY=($(compgen -W "execute events shutdown $(_mosaic_ctl_commands "$bin")" -- "$cur"))
    else
        cmd=${pos[1]}
        [[ $cmd == execute ]] && cmd=${pos[2]:-}
        if [[ ${pos[1]} == execute && ${#pos[@]} == 2 ]]; then
            COMPREPLY=($(compgen -W "$(_mosaic_ctl_commands "$bin")" -- "$cur"))
        elif [[ $cmd == events ]]; then
            COMPREPLY=($(compgen -W '--count --timeout' -- "$cur"))
        elif [[ $cmd == shutdown ]]; then
            COMPREPLY=($(compgen -W '--timeout' -- "$cur"))
        elif [[ -n $cmd ]]; then
            COMPREPLY=($(compgen -S = -W "$(_mosaic_ctl_args "$bin" "$cmd")" -- "$cur"))
            compopt -o nospace
        fi
    fi
}
complete -F _mosaic_ctl mosaic-ctl

_mosaic_backup()
{
    local cur prev words cword
    _init_completion || return
    case $prev in
        --to | -t | --dir | -d)
            _filedir -d
            return ;;
        --socket | -s)
            _filedir
            return ;;
        --format)
            COMPREPLY=($(compgen -W 'raw qcow2' -- "$cur"))
            return ;;
        --at)
            COMPREPLY=($(compgen -W latest -- "$cur"))
            return ;;
        --disk | --speed | --keep)
            return ;;
    esac
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W 'full incremental list verify restore prune forget --help' -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$("${words[0]}" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
    fi
}
complete -F _mosaic_backup mosaic-backup
