# fish completion for ckpt(1). The commands and flags come from `ckpt __flags [COMMAND]`, the
# tables ckpt's own getopt reads: completion cannot drift from what ckpt takes.
function __ckpt_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case --criu --service --timeout
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return
        end
        set -e words[1]
    end
end

function __ckpt_flags
    set -l cmd (__ckpt_command)
    ckpt __flags $cmd 2>/dev/null | string match -- '-*' | string replace -r '=$' ''
end

complete -c ckpt -f
complete -c ckpt -n 'test -z (__ckpt_command)' -a '(ckpt __flags 2>/dev/null | string match -v -- "-*")'
complete -c ckpt -a '(__ckpt_flags)'
