// Lines is javarun's own test program: it prints its arguments as RUN and
// PASS lines, one line to standard error, and sleeps when asked to.
public class Lines {
    public static void main(String[] args) throws Exception {
        for (String a : args) {
            if (a.equals("sleep")) {
                Thread.sleep(60_000);
            }
            System.out.println("RUN " + a);
            System.out.println("PASS " + a);
        }
        System.err.println("done");
    }
}
