# bash completion for chatcli
_chatcli() {
    local cur prev words cword
    _init_completion || return
    local commands="send inbox chat history transfer transfers accept reject cancel status peers id verify trust"
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
            --socket) ((i++)) ;;
            -*) ;;
            *) command="${words[i]}"; break ;;
        esac
    done
    if [[ $prev == --socket || $prev == --to ]]; then
        _filedir
        return
    fi
    case "$command" in
        "")
            COMPREPLY=($(compgen -W "$commands --socket --json --help --version" -- "$cur")) ;;
        send) COMPREPLY=($(compgen -W "--plain --no-wait --timeout --lines --help" -- "$cur")) ;;
        inbox) COMPREPLY=($(compgen -W "--follow --limit --help" -- "$cur")) ;;
        history) COMPREPLY=($(compgen -W "--limit --help" -- "$cur")) ;;
        transfer)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--no-wait --help" -- "$cur"))
            else
                _filedir
            fi ;;
        transfers) COMPREPLY=($(compgen -W "--watch --help" -- "$cur")) ;;
        accept) COMPREPLY=($(compgen -W "--to --help" -- "$cur")) ;;
        verify) COMPREPLY=($(compgen -W "--yes --help" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
    esac
}
complete -F _chatcli chatcli
