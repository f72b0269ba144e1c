# featevo.awk - the front end `featevo` from its template tools/featevo.in:
#   awk -f tools/featevo.awk -v version=V -v libexecdir=DIR tools/*.c tools/featevo.in
# Every tools/NAME.c opens with the line "/* NAME - summary." (a period, or the
# comment's end, closes it).  The template's @TOOLS@ becomes the tools' names,
# its line @TOOL_LIST@ a line "  NAME      summary" for each tool, and @VERSION@
# and @LIBEXECDIR@ the values given.  A tool without such a first line is an error.
function subst(s, pat, val,    i) {
    while ((i = index(s, pat)) > 0)
        s = substr(s, 1, i - 1) val substr(s, i + length(pat))
    return s
}
FNR == 1 && FILENAME ~ /\.c$/ {
    name = FILENAME
    sub(/^.*\//, "", name)
    sub(/\.c$/, "", name)
    prefix = "/* " name " - "
    if (index($0, prefix) != 1) {
        printf "%s:1: the first line is not \"%ssummary.\"\n", FILENAME, prefix > "/dev/stderr"
        failed = 1
        exit 1
    }
    summary = substr($0, length(prefix) + 1)
    sub(/ *\*\/$/, "", summary)
    sub(/\.$/, "", summary)
    names = names (names == "" ? "" : " ") name
    list = list sprintf("  %-8s  %s\n", name, summary)
}
FILENAME ~ /\.c$/ { next }
$0 == "@TOOL_LIST@" { printf "%s", list; next }
{ print subst(subst(subst($0, "@VERSION@", version), "@LIBEXECDIR@", libexecdir), "@TOOLS@", names) }
END { if (failed) exit 1 }
