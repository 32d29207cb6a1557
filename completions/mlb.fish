# fish completion for mlb and its tools.
#
# Every option is declared once per tool with __mlb_opt, which offers it both
# for mlb-<cmd> and after `mlb <cmd>`.  The lists are written out, so that
# completing never runs a tool; session ids, pane names, providers, groups
# and templates come from the file system.

set -l __mlb_cmds send broadcast diff summarize meter pipeline session models

function __mlb_home
    if set -q MLB_HOME[1]; and test -n "$MLB_HOME"
        echo $MLB_HOME
    else if set -q XDG_DATA_HOME[1]; and test -n "$XDG_DATA_HOME"
        echo $XDG_DATA_HOME/mlb
    else
        echo $HOME/.local/share/mlb
    end
end

function __mlb_config_file
    if set -q MLB_CONFIG[1]; and test -n "$MLB_CONFIG"
        echo $MLB_CONFIG
    else if set -q XDG_CONFIG_HOME[1]; and test -n "$XDG_CONFIG_HOME"
        echo $XDG_CONFIG_HOME/mlb/config
    else
        echo $HOME/.config/mlb/config
    end
end

function __mlb_sessions
    for d in (__mlb_home)/sessions/*/
        basename $d
    end
end

# The panes of the session named by -s/--session on the command line.
function __mlb_panes
    set -l words (commandline -opc)
    set -l session
    for i in (seq (count $words))
        switch $words[$i]
            case -s --session
                set -l next (math $i + 1)
                set -q words[$next]; and set session $words[$next]
            case '--session=*'
                set session (string replace -- --session= '' $words[$i])
        end
    end
    test -n "$session"; or return
    for d in (__mlb_home)/sessions/$session/panes/*/
        basename $d
    end
end

function __mlb_providers
    printf '%s\n' litellm openai groq openrouter ollama gemini anthropic
    set -l f (__mlb_config_file)
    test -r $f; and string replace -rf '^\s*\[provider\s*"([^"]*)".*' '$1' <$f
end

function __mlb_model_specs
    for p in (__mlb_providers)
        echo $p:
    end
    set -l f (__mlb_config_file)
    test -r $f; and sed -n '/^[[:space:]]*\[alias\]/,/^[[:space:]]*\[/s/^[[:space:]]*\([A-Za-z][A-Za-z0-9-]*\)[[:space:]]*=.*/\1/p' $f
end

# The roles (saved system prompts): the user's, then the shipped ones.
function __mlb_roles
    set -l share $MLB_SHARE_DIR
    if test -z "$share"; and set -l bin (command -s mlb-send)
        set share (dirname $bin)/../share/mlb
    end
    for d in (set -q XDG_CONFIG_HOME[1]; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)/mlb/prompts $share/prompts
        for f in $d/*.md
            basename $f .md
        end
    end | sort -u
end

function __mlb_system_roles
    for r in (__mlb_roles)
        echo @$r
    end
end

function __mlb_groups
    set -l f (__mlb_config_file)
    test -r $f; and string replace -rf '^\s*\[group\s*"([^"]*)".*' '$1' <$f
end

function __mlb_from
    echo -
    for p in (__mlb_panes)
        echo $p
        echo $p:all
    end
    for s in (__mlb_sessions)
        for d in (__mlb_home)/sessions/$s/panes/*/
            echo $s/(basename $d)
        end
    end
end

# The user's templates, then the shipped ones (in $MLB_SHARE_DIR, else in
# share/mlb beside the mlb-pipeline on PATH).
function __mlb_templates
    set -l dirs
    if set -q XDG_CONFIG_HOME[1]; and test -n "$XDG_CONFIG_HOME"
        set dirs $XDG_CONFIG_HOME/mlb/pipelines
    else
        set dirs $HOME/.config/mlb/pipelines
    end
    if set -q MLB_SHARE_DIR[1]; and test -n "$MLB_SHARE_DIR"
        set -a dirs $MLB_SHARE_DIR/pipelines
    else if set -l bin (command -s mlb-pipeline)
        set -a dirs (dirname $bin[1])/../share/mlb/pipelines
    end
    for d in $dirs
        for f in $d/*.json
            basename $f .json
        end
    end | sort -u
end

# __mlb_opt CMD COMPLETE-ARGS...: an option of mlb-CMD, and of `mlb CMD`.
function __mlb_opt
    set -l cmd $argv[1]
    complete -c mlb-$cmd $argv[2..-1]
    complete -c mlb -n "__fish_seen_subcommand_from $cmd" $argv[2..-1]
end

# mlb
complete -c mlb -f
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -s h -l help -d 'show the help'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -l version -d 'show the version'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a send -d 'send a prompt to one model and stream the reply'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a broadcast -d 'send one prompt to many models at once'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a diff -d 'compare two answers'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a summarize -d 'summarize several answers with a model'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a meter -d 'add up tokens, cost and latency; enforce a budget'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a pipeline -d 'run a pipeline template of prompts and models'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a session -d 'list, show, search and manage sessions'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a models -d 'list the models the configured providers offer'
complete -c mlb -n "not __fish_seen_subcommand_from $__mlb_cmds help" -a help -d 'show the help of a command'
complete -c mlb -n "__fish_seen_subcommand_from help; and not __fish_seen_subcommand_from $__mlb_cmds" -a "$__mlb_cmds"

# mlb-send
complete -c mlb-send -f
__mlb_opt send -s m -l model -x -a '(__mlb_model_specs)' -d 'the model'
__mlb_opt send -s s -l session -x -a '(__mlb_sessions)' -d 'the session to continue'
__mlb_opt send -s c -l continue -d 'continue the most recent session'
__mlb_opt send -s p -l pane -x -a '(__mlb_panes)' -d 'the pane'
__mlb_opt send -s S -l system -x -a '(__mlb_system_roles)' -d 'a system prompt for this pane, or @role'
__mlb_opt send -s o -l option -x -a 'temperature= max_tokens= top_p= top_k= stop= seed= stream=' -d 'a request option'
__mlb_opt send -l from -x -a '(__mlb_from)' -d "send another pane's message"
__mlb_opt send -l fallback -x -a '(__mlb_model_specs)' -d 'a model to ask if the first fails'
__mlb_opt send -l project -x -d 'put the session in this project'
__mlb_opt send -l no-store -d 'do not store the turn'
__mlb_opt send -l list-roles -d 'list the roles'
__mlb_opt send -l show-role -x -a '(__mlb_roles)' -d 'show a role'
__mlb_opt send -l retries -x -d 'retries after a failed attempt'
__mlb_opt send -l connect-timeout -x -d 'seconds to connect'
__mlb_opt send -l first-token-timeout -x -d 'seconds to the first token'
__mlb_opt send -l idle-timeout -x -d 'seconds a stream may stall'
__mlb_opt send -l timeout -x -d 'seconds for the whole reply'
__mlb_opt send -l insecure -d 'do not verify TLS certificates'
__mlb_opt send -s h -l help -d 'show the help'
__mlb_opt send -l version -d 'show the version'
__mlb_opt send -l json -d 'write events'
__mlb_opt send -l text -d 'write text'

# mlb-broadcast
complete -c mlb-broadcast -f
__mlb_opt broadcast -s m -l model -x -a '(__mlb_model_specs)' -d 'a model to ask'
__mlb_opt broadcast -s g -l group -x -a '(__mlb_groups)' -d 'the models of a config group'
__mlb_opt broadcast -s s -l session -x -a '(__mlb_sessions)' -d 'the session to continue'
__mlb_opt broadcast -s S -l system -x -a '(__mlb_system_roles)' -d 'a system prompt, or @role'
__mlb_opt broadcast -s o -l option -x -a 'temperature= max_tokens= top_p= top_k= stop= seed= stream=' -d 'a request option'
__mlb_opt broadcast -l panes -x -d 'pane names, one per model'
__mlb_opt broadcast -l first -d 'stop when the first model finishes'
__mlb_opt broadcast -l quorum -x -d 'stop when n models finished'
__mlb_opt broadcast -l deadline -x -d 'cancel what still runs after this'
__mlb_opt broadcast -l budget -x -d 'refuse or stop beyond this cost'
__mlb_opt broadcast -l fallback -x -a '(__mlb_model_specs)' -d 'a model to ask if one fails'
__mlb_opt broadcast -l project -x -d 'put the session in this project'
__mlb_opt broadcast -l no-store -d 'do not store the turn'
__mlb_opt broadcast -l raw -d 'the answers as sent, markdown not drawn'
__mlb_opt broadcast -l retries -x -d 'retries after a failed attempt'
__mlb_opt broadcast -l connect-timeout -x -d 'seconds to connect'
__mlb_opt broadcast -l first-token-timeout -x -d 'seconds to the first token'
__mlb_opt broadcast -l idle-timeout -x -d 'seconds a stream may stall'
__mlb_opt broadcast -l timeout -x -d 'seconds for each whole reply'
__mlb_opt broadcast -l insecure -d 'do not verify TLS certificates'
__mlb_opt broadcast -s h -l help -d 'show the help'
__mlb_opt broadcast -l version -d 'show the version'
__mlb_opt broadcast -l json -d 'write events'
__mlb_opt broadcast -l text -d 'write text'

# mlb-diff
complete -c mlb-diff -f -a '(__mlb_panes)'
complete -c mlb -n '__fish_seen_subcommand_from diff' -a '(__mlb_panes)'
__mlb_opt diff -s s -l session -x -a '(__mlb_sessions)' -d 'the session holding the panes'
__mlb_opt diff -l words -d 'compare words'
__mlb_opt diff -l lines -d 'compare lines'
__mlb_opt diff -l chars -d 'compare characters'
__mlb_opt diff -l all -d 'compare every pair of final events'
__mlb_opt diff -l against -x -a '(__mlb_panes)' -d 'compare each final event with this pane'
__mlb_opt diff -l follow -d 'compare again while tokens stream in'
__mlb_opt diff -l unified -d 'a line diff on a terminal'
__mlb_opt diff -s h -l help -d 'show the help'
__mlb_opt diff -l version -d 'show the version'
__mlb_opt diff -l json -d 'write events'
__mlb_opt diff -l text -d 'write text'

# mlb-summarize
complete -c mlb-summarize -f -a '(__mlb_panes)'
complete -c mlb -n '__fish_seen_subcommand_from summarize' -a '(__mlb_panes)'
__mlb_opt summarize -s m -l model -x -a '(__mlb_model_specs)' -d 'the model that summarizes'
__mlb_opt summarize -l format -x -a 'executive technical bullet' -d 'the form of the summary'
__mlb_opt summarize -s s -l session -x -a '(__mlb_sessions)' -d 'the session to read and store in'
__mlb_opt summarize -s S -l system -x -a '(__mlb_system_roles)' -d 'a system prompt, or @role'
__mlb_opt summarize -l project -x -d 'put the session in this project'
__mlb_opt summarize -l no-store -d 'do not store the summary'
__mlb_opt summarize -l retries -x -d 'retries after a failed attempt'
__mlb_opt summarize -l connect-timeout -x -d 'seconds to connect'
__mlb_opt summarize -l first-token-timeout -x -d 'seconds to the first token'
__mlb_opt summarize -l idle-timeout -x -d 'seconds a stream may stall'
__mlb_opt summarize -l timeout -x -d 'seconds for the whole reply'
__mlb_opt summarize -l insecure -d 'do not verify TLS certificates'
__mlb_opt summarize -s h -l help -d 'show the help'
__mlb_opt summarize -l version -d 'show the version'
__mlb_opt summarize -l json -d 'write events'
__mlb_opt summarize -l text -d 'write text'

# mlb-meter
complete -c mlb-meter -f
__mlb_opt meter -l budget -x -d 'stop at this cost'
__mlb_opt meter -l warn -x -d 'warn at this share of the budget'
__mlb_opt meter -l by -x -a 'pane model session day week month provider project' -d 'aggregate by'
__mlb_opt meter -l all -d 'the cost of every session'
__mlb_opt meter -l since -x -d 'stored replies of this day (YYYY-MM-DD) or later'
__mlb_opt meter -l until -x -d 'stored replies of this day (YYYY-MM-DD) or earlier'
__mlb_opt meter -l interval -x -d 'emit aggregates this often'
__mlb_opt meter -l report -d 'print a table at the end'
__mlb_opt meter -l prices -r -F -d 'an extra price table'
__mlb_opt meter -s s -l session -x -a '(__mlb_sessions)' -d 'the cost of a stored session'
__mlb_opt meter -s h -l help -d 'show the help'
__mlb_opt meter -l version -d 'show the version'
__mlb_opt meter -l json -d 'write events'
__mlb_opt meter -l text -d 'write text'

# mlb-pipeline
set -l __mlb_pipeline_cmds run validate show list save export import drift merge report
complete -c mlb-pipeline -f
complete -c mlb-pipeline -n "not __fish_seen_subcommand_from $__mlb_pipeline_cmds" -a "$__mlb_pipeline_cmds"
complete -c mlb-pipeline -n '__fish_seen_subcommand_from run validate show export' -F -a '(__mlb_templates)'
complete -c mlb-pipeline -n '__fish_seen_subcommand_from import' -F
complete -c mlb -n "__fish_seen_subcommand_from pipeline; and not __fish_seen_subcommand_from $__mlb_pipeline_cmds" -a "$__mlb_pipeline_cmds"
complete -c mlb -n '__fish_seen_subcommand_from pipeline; and __fish_seen_subcommand_from run validate show export' -F -a '(__mlb_templates)'
complete -c mlb -n '__fish_seen_subcommand_from pipeline; and __fish_seen_subcommand_from import' -F
__mlb_opt pipeline -l var -x -d 'set a template variable'
__mlb_opt pipeline -s s -l session -x -a '(__mlb_sessions)' -d 'the session to store in'
__mlb_opt pipeline -l budget -x -d 'refuse or stop beyond this cost'
__mlb_opt pipeline -l dry-run -d 'print prompts and order, send nothing'
__mlb_opt pipeline -l lock -d 'refuse to start while the template runs'
__mlb_opt pipeline -l log -r -F -d 'append every event to file'
__mlb_opt pipeline -l rows -r -F -d 'run once a row of a JSONL or CSV file'
__mlb_opt pipeline -l jobs -x -d 'rows at once'
__mlb_opt pipeline -l shard -x -d 'run only the rows of shard i of n'
__mlb_opt pipeline -l junit -r -F -d 'write a JUnit XML report'
__mlb_opt pipeline -l html -r -F -d 'write an HTML report'
__mlb_opt pipeline -l record -r -F -d 'keep every provider exchange in a directory'
__mlb_opt pipeline -l replay -r -F -d 'answer every request from a directory, without network'
__mlb_opt pipeline -l min-similarity -x -d 'drift: the least similarity to the recording'
__mlb_opt pipeline -l from-session -x -a '(__mlb_sessions)' -d 'the session to turn into a template'
__mlb_opt pipeline -l name -x -d 'the name of the saved template'
__mlb_opt pipeline -l project -x -d 'put the session in this project'
__mlb_opt meter -l project -x -d 'the cost of the sessions of a project'
__mlb_opt session -l project -x -d 'ls: only the sessions of this project'
__mlb_opt session -l archived -d 'ls: only the archived sessions'
__mlb_opt session -l all -d 'ls: the archived sessions too'
__mlb_opt pipeline -s f -l force -d 'let save and import replace a template of that name'
__mlb_opt pipeline -l retries -x -d 'retries after a failed attempt'
__mlb_opt pipeline -l connect-timeout -x -d 'seconds to connect'
__mlb_opt pipeline -l first-token-timeout -x -d 'seconds to the first token'
__mlb_opt pipeline -l idle-timeout -x -d 'seconds a stream may stall'
__mlb_opt pipeline -l timeout -x -d 'seconds for each whole reply'
__mlb_opt pipeline -l insecure -d 'do not verify TLS certificates'
__mlb_opt pipeline -s h -l help -d 'show the help'
__mlb_opt pipeline -l version -d 'show the version'
__mlb_opt pipeline -l json -d 'write events'
__mlb_opt pipeline -l text -d 'write text'

# mlb-session
set -l __mlb_session_cmds ls list show log grep search fork restore export import rm remove name project archive complete reopen
complete -c mlb-session -f
complete -c mlb-session -n "not __fish_seen_subcommand_from $__mlb_session_cmds" -a "$__mlb_session_cmds"
complete -c mlb-session -n '__fish_seen_subcommand_from show log fork restore export rm remove name project archive complete reopen' -a '(__mlb_sessions)'
complete -c mlb-session -n '__fish_seen_subcommand_from import' -F
complete -c mlb -n "__fish_seen_subcommand_from session; and not __fish_seen_subcommand_from $__mlb_session_cmds" -a "$__mlb_session_cmds"
complete -c mlb -n '__fish_seen_subcommand_from session; and __fish_seen_subcommand_from show log fork restore export rm remove name project archive complete reopen' -a '(__mlb_sessions)'
__mlb_opt session -l at -x -d 'fork from this commit'
__mlb_opt session -s f -l force -d 'rm: do not ask; export: overwrite the file'
__mlb_opt session -s i -l ignore-case -d 'grep without regard to case'
__mlb_opt session -l html -r -F -d 'export: an HTML report of the answers'
__mlb_opt session -l raw -d 'show: the text as sent'
__mlb_opt session -s h -l help -d 'show the help'
__mlb_opt session -l version -d 'show the version'
__mlb_opt session -l json -d 'write events'
__mlb_opt session -l text -d 'write text'

# mlb-models
complete -c mlb-models -f -a '(__mlb_providers)'
complete -c mlb -n '__fish_seen_subcommand_from models' -a '(__mlb_providers)'
__mlb_opt models -l timeout -x -d 'seconds to wait for each provider'
__mlb_opt models -s h -l help -d 'show the help'
__mlb_opt models -l version -d 'show the version'
__mlb_opt models -l json -d 'write JSON records'
__mlb_opt models -l text -d 'write provider:model lines'
