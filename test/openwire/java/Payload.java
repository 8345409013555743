import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** The Serializable class an ObjectMessage carries in the type-object scenario. */
final class Payload implements Serializable {
    private static final long serialVersionUID = 1L;

    final String name;
    final int[] numbers;
    final List<String> tags;

    Payload(String name, int[] numbers, List<String> tags) {
        this.name = name;
        this.numbers = numbers;
        this.tags = tags;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Payload)) {
            return false;
        }
        Payload p = (Payload) o;
        return name.equals(p.name) && Arrays.equals(numbers, p.numbers) && tags.equals(p.tags);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(numbers), tags);
    }

    @Override
    public String toString() {
        return "Payload(" + name + ", " + Arrays.toString(numbers) + ", " + tags + ")";
    }
}
