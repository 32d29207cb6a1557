# bash completion for mlb and its tools                    -*- shell-script -*-
#
# Installed as bash-completion/completions/mlb, with a link named after each
# mlb-* tool, so that bash-completion loads it for whichever is typed first.
# It can also be sourced directly.  The options are written out per tool, so
# that completing never runs a tool; values that are cheap to find (session
# ids, pane names, providers, groups, templates) come from the file system.

_mlb_cmds='send broadcast diff summarize meter pipeline session models'

# _mlb_tool_opts TOOL: set long, short and args (the options that take a
# value) for TOOL, in the caller's local variables.
_mlb_tool_opts()
{
	local common='--help --version --json --text'
	local policy='--retries --connect-timeout --first-token-timeout --idle-timeout --timeout --insecure'
	local policy_args='--retries --connect-timeout --first-token-timeout --idle-timeout --timeout'

	case $1 in
	mlb)
		long='--help --version'
		short='-h'
		args=''
		;;
	mlb-send)
		long="--model --session --continue --pane --system --option --from --fallback --project --no-store --list-roles --show-role $policy $common"
		short='-m -s -c -p -S -o -h'
		args="-m --model -s --session -p --pane -S --system -o --option --from --fallback --project --show-role $policy_args"
		;;
	mlb-broadcast)
		long="--model --group --session --system --option --panes --first --quorum --deadline --budget --fallback --project --no-store --raw $policy $common"
		short='-m -g -s -S -o -h'
		args="-m --model -g --group -s --session -S --system -o --option --panes --quorum --deadline --budget --fallback --project $policy_args"
		;;
	mlb-diff)
		long="--session --words --lines --chars --all --against --follow --unified $common"
		short='-s -h'
		args='-s --session --against'
		;;
	mlb-summarize)
		long="--model --format --session --system --project --no-store $policy $common"
		short='-m -s -S -h'
		args="-m --model --format -s --session -S --system --project $policy_args"
		;;
	mlb-meter)
		long="--budget --warn --by --interval --report --prices --session --project --all --since --until $common"
		short='-s -h'
		args='--budget --warn --by --interval --prices -s --session --project --since --until'
		;;
	mlb-pipeline)
		long="--var --session --project --budget --dry-run --lock --log --rows --jobs --shard --junit --html --record --replay --min-similarity --from-session --name --force $policy $common"
		short='-s -f -h'
		args="--var -s --session --project --budget --log --rows --jobs --shard --junit --html --record --replay --min-similarity --from-session --name $policy_args"
		;;
	mlb-session)
		long="--at --force --ignore-case --raw --project --archived --all --html $common"
		short='-f -i -h'
		args='--at --project --html'
		;;
	mlb-models)
		long="--timeout $common"
		short='-h'
		args='--timeout'
		;;
	*)
		long="$common"
		short='-h'
		args=''
		;;
	esac
}

_mlb_home()
{
	local data=${XDG_DATA_HOME:-$HOME/.local/share}
	printf '%s\n' "${MLB_HOME:-$data/mlb}"
}

_mlb_config_file()
{
	printf '%s\n' "${MLB_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/mlb/config}"
}

# The session ids, newest last.
_mlb_sessions()
{
	local d s
	d=$(_mlb_home)/sessions
	[[ -d $d ]] || return 0
	for s in "$d"/*/; do
		[[ -d $s ]] && s=${s%/} && printf '%s\n' "${s##*/}"
	done
}

# _mlb_panes SESSION: the panes of a session.
_mlb_panes()
{
	local d p
	[[ -n $1 ]] || return 0
	d=$(_mlb_home)/sessions/$1/panes
	[[ -d $d ]] || return 0
	for p in "$d"/*/; do
		[[ -d $p ]] && p=${p%/} && printf '%s\n' "${p##*/}"
	done
}

# The providers: the shipped ones and those of the configuration file.
_mlb_providers()
{
	local f
	printf '%s\n' litellm openai groq openrouter ollama gemini anthropic
	f=$(_mlb_config_file)
	[[ -r $f ]] && sed -n 's/^[[:space:]]*\[provider[[:space:]]*"\([^"]*\)".*/\1/p' "$f"
}

# The aliases of the configuration's [alias] section.
_mlb_aliases()
{
	local f
	f=$(_mlb_config_file)
	[[ -r $f ]] && sed -n '/^[[:space:]]*\[alias\]/,/^[[:space:]]*\[/s/^[[:space:]]*\([A-Za-z][A-Za-z0-9-]*\)[[:space:]]*=.*/\1/p' "$f"
}

# The roles (saved system prompts): the user's, then the shipped ones.
_mlb_roles()
{
	local d f share=$MLB_SHARE_DIR bin
	if [[ -z $share ]] && bin=$(type -P mlb-send); then
		share=${bin%/*}/../share/mlb
	fi
	for d in "${XDG_CONFIG_HOME:-$HOME/.config}/mlb/prompts" ${share:+"$share/prompts"}; do
		[[ -d $d ]] || continue
		for f in "$d"/*.md; do
			[[ -f $f ]] || continue
			f=${f##*/}
			printf '%s\n' "${f%.md}"
		done
	done | sort -u
}

_mlb_groups()
{
	local f
	f=$(_mlb_config_file)
	[[ -r $f ]] && sed -n 's/^[[:space:]]*\[group[[:space:]]*"\([^"]*\)".*/\1/p' "$f"
}

# The pipeline templates known by name: the user's, then the shipped ones
# (in $MLB_SHARE_DIR, else in share/mlb beside the mlb-pipeline on PATH).
_mlb_templates()
{
	local d f share=$MLB_SHARE_DIR bin
	if [[ -z $share ]] && bin=$(type -P mlb-pipeline); then
		share=${bin%/*}/../share/mlb
	fi
	for d in "${XDG_CONFIG_HOME:-$HOME/.config}/mlb/pipelines" ${share:+"$share/pipelines"}; do
		[[ -d $d ]] || continue
		for f in "$d"/*.json; do
			[[ -f $f ]] || continue
			f=${f##*/}
			printf '%s\n' "${f%.json}"
		done
	done | sort -u
}

# _mlb_reply WORDS...: offer the words that start with $cur.
_mlb_reply()
{
	local IFS=$'\n'
	COMPREPLY+=($(compgen -W "$*" -- "$cur"))
}

_mlb_reply_files()
{
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	COMPREPLY+=($(compgen -f -- "$cur"))
}

# _mlb_value OPTION: complete the value of an option.
_mlb_value()
{
	local IFS=$'\n'
	case $1 in
	-m|--model|--fallback)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -S : -W "$(_mlb_providers)" -- "$cur"))
		COMPREPLY+=($(compgen -S ' ' -W "$(_mlb_aliases)" -- "$cur"))
		;;
	-S|--system)
		[[ $cur == @* ]] && COMPREPLY=($(compgen -P @ -W "$(_mlb_roles)" -- "${cur#@}"))
		;;
	--show-role)
		_mlb_reply "$(_mlb_roles)"
		;;
	-s|--session|--from-session)
		_mlb_reply "$(_mlb_sessions)"
		;;
	-p|--pane|--against)
		_mlb_reply "$(_mlb_panes "$session")"
		;;
	-g|--group)
		_mlb_reply "$(_mlb_groups)"
		;;
	-o|--option)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W 'temperature= max_tokens= top_p= top_k= stop= seed= stream=' -- "$cur"))
		;;
	--from)
		compopt -o nospace 2>/dev/null
		if [[ $cur == */* ]]; then
			local s=${cur%%/*}
			COMPREPLY=($(compgen -P "$s/" -W "$(_mlb_panes "$s")" -- "${cur#*/}"))
		else
			COMPREPLY=($(compgen -W "-" -- "$cur"))
			COMPREPLY+=($(compgen -S / -W "$(_mlb_sessions)" -- "$cur"))
			if [[ -n $session ]]; then
				COMPREPLY+=($(compgen -W "$(_mlb_panes "$session")" -- "$cur"))
				COMPREPLY+=($(compgen -S :all -W "$(_mlb_panes "$session")" -- "$cur"))
			fi
		fi
		;;
	--format)
		_mlb_reply executive technical bullet
		;;
	--by)
		_mlb_reply pane model session day week month provider project
		;;
	--prices|--log|--rows|--junit|--html|--record|--replay)
		_mlb_reply_files
		;;
	esac
	return 0
}

# _mlb_complete TOOL CWORD WORDS...: complete word CWORD of the command line
# WORDS of TOOL; fills COMPREPLY.
_mlb_complete()
{
	local tool=$1 cword=$2
	shift 2
	local words=("$@")
	local cur=${words[cword]} prev=''
	local long short args session='' i w
	local -a operands=()

	((cword > 0)) && prev=${words[cword - 1]}
	# --option=value arrives as three words: --option, '=' and the value.
	if [[ $cur == = ]]; then
		cur=''
	elif [[ $prev == = ]] && ((cword > 1)); then
		prev=${words[cword - 2]}
	fi
	COMPREPLY=()
	_mlb_tool_opts "$tool"

	# What is on the line already: the session and the operands.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $w && " $args " == *" $w "* ]]; then
			[[ $w == -s || $w == --session ]] && session=${words[i + 1]}
			((i++))
		elif [[ $w == --session=* ]]; then
			session=${w#--session=}
		elif [[ $w != -* && $w != = ]]; then
			operands+=("$w")
		fi
	done

	if [[ -n $prev && " $args " == *" $prev "* ]]; then
		_mlb_value "$prev"
		return 0
	fi
	if [[ $cur == -* ]]; then
		if [[ $cur == --* ]]; then
			_mlb_reply $long
		else
			_mlb_reply $short $long
		fi
		return 0
	fi

	case $tool in
	mlb-session)
		if ((${#operands[@]} == 0)); then
			_mlb_reply ls list show log grep search fork restore export import rm remove name project archive complete reopen
		else
			case ${operands[0]}:${#operands[@]} in
			show:1|log:1|fork:1|restore:1|export:1|rm:1|name:1|project:1|archive:1|complete:1|reopen:1|grep:[2-9]*)
				_mlb_reply "$(_mlb_sessions)" ;;
			export:2|import:1)
				_mlb_reply_files ;;
			esac
		fi
		;;
	mlb-pipeline)
		if ((${#operands[@]} == 0)); then
			_mlb_reply run validate show list save export import drift merge report
		elif ((${#operands[@]} == 1)); then
			case ${operands[0]} in
			run|validate|show|export)
				_mlb_reply "$(_mlb_templates)"
				_mlb_reply_files ;;
			import)
				_mlb_reply_files ;;
			drift|merge)
				_mlb_reply "$(_mlb_sessions)" ;;
			report)
				_mlb_reply_files ;;
			esac
		elif ((${#operands[@]} == 2)) && [ "${operands[0]}" = drift ]; then
			_mlb_reply "$(_mlb_sessions)"
		fi
		;;
	mlb-models)
		_mlb_reply "$(_mlb_providers)"
		;;
	mlb-diff|mlb-summarize)
		_mlb_reply "$(_mlb_panes "$session")"
		;;
	esac
	return 0
}

# Completion for the mlb-* tools themselves.
_mlb_tool()
{
	_mlb_complete "${COMP_WORDS[0]##*/}" "$COMP_CWORD" "${COMP_WORDS[@]}"
}

# Completion for mlb: its commands, then the command's own completion.
_mlb()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i w
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -* ]] && continue
		if [[ $w == help ]]; then
			((COMP_CWORD == i + 1)) && _mlb_reply $_mlb_cmds
			return 0
		fi
		if [[ " $_mlb_cmds " == *" $w "* ]]; then
			_mlb_complete "mlb-$w" $((COMP_CWORD - i)) "mlb-$w" "${COMP_WORDS[@]:i+1}"
		fi
		return 0
	done
	if [[ $cur == -* ]]; then
		local long short args
		_mlb_tool_opts mlb
		if [[ $cur == --* ]]; then
			_mlb_reply $long
		else
			_mlb_reply $short $long
		fi
	else
		_mlb_reply $_mlb_cmds help
	fi
	return 0
}

complete -F _mlb mlb
complete -F _mlb_tool mlb-send mlb-broadcast mlb-diff mlb-summarize mlb-meter \
	mlb-pipeline mlb-session mlb-models
